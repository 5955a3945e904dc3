namespace Dataflow.Worker.Tests.Workers;

public sealed class PlanAddressTests
{
    [Theory]
    [InlineData("/data/merge/_dataflow/runs/r-1/plan.json", "/data/merge/", "r-1")]
    [InlineData("relative/store/_dataflow/runs/run_2/plan.json", "relative/store/", "run_2")]
    [InlineData("_dataflow/runs/r1/plan.json", ".", "r1")]
    [InlineData("file:///tmp/store/_dataflow/runs/20261129-024455-3fa2c1/plan.json", "file:///tmp/store/", "20261129-024455-3fa2c1")]
    [InlineData("s3://bucket/prefix/_dataflow/runs/r1/plan.json", "s3://bucket/prefix/", "r1")]
    [InlineData("s3://bucket/_dataflow/runs/r1/plan.json", "s3://bucket/", "r1")]
    [InlineData("oss://bucket/a/b/_dataflow/runs/r1/plan.json", "oss://bucket/a/b/", "r1")]
    [InlineData("/a/_dataflow/runs/x/_dataflow/runs/r1/plan.json", "/a/_dataflow/runs/x/", "r1")]
    public void Parse_PlanAddresses_SplitIntoStoreAndRunId(string address, string store, string runId)
    {
        Assert.Equal((store, runId), PlanAddress.Parse(address));
    }

    [Theory]
    [InlineData("/data/merge/plan.json")]
    [InlineData("s3://bucket/prefix/r1/plan.json")]
    [InlineData("/data/_dataflow/runs/r1/summary.json")]
    [InlineData("/data/_dataflow/runs/r1/plan.json.bak")]
    [InlineData("/data/_dataflow/runs/r1/")]
    [InlineData("/data/x_dataflow/runs/r1/plan.json")]
    [InlineData("/data/_dataflow/runs/bad id!/plan.json")]
    [InlineData("/data/_dataflow/runs/a/b/plan.json")]
    [InlineData("/data/_dataflow/runs//plan.json")]
    [InlineData("/data/_dataflow/runs/plan.json")]
    [InlineData("_dataflow/runs/plan.json")]
    [InlineData("")]
    public void Parse_NotAPlanAddress_ThrowsNamingIt(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => PlanAddress.Parse(address));

        Assert.Contains($"'{address}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TooLongRunId_Throws()
    {
        var address = $"/data/_dataflow/runs/{new string('r', 65)}/plan.json";

        var error = Assert.Throws<ArgumentException>(() => PlanAddress.Parse(address));

        Assert.Contains(address, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("store")]
    [InlineData("a store with spaces & symbols")]
    public async Task Parse_AddressAFolderStoreGives_OpensTheSameStore(string name)
    {
        using var folder = new TempFolder();
        await using var store = ObjectStore.OpenFolder(Path.Combine(folder.Path, name));
        var layout = new RunLayout("round-trip");
        await store.PutAsync(layout.PlanKey, "{}"u8.ToArray());

        var (location, runId) = PlanAddress.Parse(store.GetUri(layout.PlanKey));

        Assert.Equal("round-trip", runId);
        await using var reopened = ObjectStore.Open(location);
        Assert.Equal(store.Location, reopened.Location);
        Assert.True(await reopened.ExistsAsync(layout.PlanKey));
    }

    [Fact]
    public async Task Parse_AddressAnS3StoreGives_OpensTheSameStore()
    {
        await using var store = ObjectStore.Open("s3://bucket/some/prefix");
        var layout = new RunLayout("round-trip");

        var (location, runId) = PlanAddress.Parse(store.GetUri(layout.PlanKey));

        Assert.Equal("round-trip", runId);
        await using var reopened = ObjectStore.Open(location);
        Assert.Equal(store.Location, reopened.Location);
        Assert.Equal(store.GetUri(layout.PlanKey), reopened.GetUri(layout.PlanKey));
    }
}
