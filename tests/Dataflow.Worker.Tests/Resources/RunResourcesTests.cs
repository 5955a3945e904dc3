using System.Text.Json;

namespace Dataflow.Worker.Tests.Resources;

/// <summary>
/// What a run used, on the local executor: its request totals against a recording store's calls, the driver's CPU and
/// peak memory, and the summary and report carrying them (JSON and the HTML page).
/// </summary>
public sealed class RunResourcesTests : IDisposable
{
    private const string RunId = "resources-local";

    private readonly TempFolder _folder = new();
    private readonly RunLayout _layout = new(RunId);

    public void Dispose() => _folder.Dispose();

    private static Job MergeJob() => Job.Named("resources-job").FromPrefix("input/").ReduceTree(2, new CopyConcatOperator()).WriteTo("output/merged.txt");

    [Fact]
    public async Task RunAsync_LocalExecutorOnARecordingStore_RequestTotalsEqualTheCallsItRecordedByKind()
    {
        var counting = new CountingStore(ObjectStore.OpenFolder(_folder.Path));
        await using var _ = counting;
        await Inputs.WriteAsync(counting, 16, size: 3);
        var before = counting.Calls.Count;

        var result = await new JobRunner(counting, new JobRunnerOptions { RunId = RunId, Concurrency = 3 }).RunAsync(MergeJob());

        // The totals were taken before the summary was stored: what the driver did from there on is its records (the
        // summary, the report and its page) and letting go of the lease (and a look for a cancel request, should its
        // poll fall in between), each named by its key.
        var calls = counting.Calls.Skip(before).ToList();
        var end = calls.FindIndex(c => c.Key == _layout.SummaryKey);
        Assert.True(end > 0, "the summary was never stored");
        var after = calls.Skip(end).ToList();
        string[] records = [_layout.SummaryKey, _layout.ReportKey, _layout.ReportHtmlKey, _layout.LeaseKey, _layout.CancelRequestKey];
        Assert.All(after, c => Assert.Contains(c.Key, records));
        var recorded = new StoreRequestCounts();
        foreach (var call in calls.Take(end))
        {
            recorded.Count(call.Kind);
        }

        var resources = result.Summary.Resources!;
        var total = resources.Total;
        Assert.Equal(recorded.ToString(), total.Requests!.ToString());
        Assert.True(total.Requests.Copy > 0, $"the merge composed nothing: {total.Requests}");

        // The run's requests are its attempts' and the driver's; on the local executor the CPU and memory are the driver's.
        var report = RunRecords.DeserializeReport(await counting.ReadAllBytesAsync(_layout.ReportKey));
        var ran = report.Attempts.Where(a => a.Outcome == AttemptOutcomes.Committed).ToList();
        Assert.Equal(15, ran.Count);
        Assert.All(ran, a =>
        {
            Assert.Null(a.Resources!.CpuUserMs);
            Assert.Null(a.Resources.PeakMemoryBytes);
            Assert.True(a.Resources.Requests!.Get >= 1, $"attempt {a.Stage}/{a.Task} read nothing: {a.Resources.Requests}");
        });
        var attempts = StoreRequestCounts.Sum(ran.Select(a => a.Resources!.Requests));
        attempts.Add(resources.Driver!.Requests);
        Assert.Equal(total.Requests.ToString(), attempts.ToString());
        Assert.NotNull(total.CpuUserMs);
        Assert.Equal(resources.Driver.CpuUserMs, total.CpuUserMs);
        Assert.Equal(resources.Driver.CpuSystemMs, total.CpuSystemMs);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(total.PeakMemoryBytes > 0);
            Assert.Equal(resources.Driver.PeakMemoryBytes, total.PeakMemoryBytes);
        }
    }

    [Fact]
    public async Task Summary_WithResources_RoundTripsThroughJsonAndStaysAdditive()
    {
        var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 4, size: 3);
        var result = await new JobRunner(store, new JobRunnerOptions { RunId = RunId }).RunAsync(MergeJob());

        var stored = RunRecords.DeserializeSummary(await store.ReadAllBytesAsync(_layout.SummaryKey));
        Assert.Equal(1, stored.SchemaVersion);
        Assert.Equal(result.Summary.Resources, stored.Resources);
        Assert.Equal(result.Summary.Resources!.Total.Requests!.ToString(), stored.Resources!.Total.Requests!.ToString());
        Assert.Equal(result.Summary.Resources.Total.CpuUserMs, stored.Resources.Total.CpuUserMs);
        Assert.Equal(result.Summary.Resources.Driver!.Requests!.ToString(), stored.Resources.Driver!.Requests!.ToString());
        Assert.Equal(stored.ToJson(), RunRecords.DeserializeSummary(System.Text.Encoding.UTF8.GetBytes(stored.ToJson())).ToJson());

        // Small: one object of the run's figures and one of the driver's, each kind of request by its name.
        using var json = JsonDocument.Parse(stored.ToJson());
        var requests = json.RootElement.GetProperty("resources").GetProperty("total").GetProperty("requests");
        Assert.Equal(["list", "head", "get", "put", "part", "copy", "delete"], requests.EnumerateObject().Select(p => p.Name));

        // A summary of an earlier build, without them, still reads.
        var old = RunRecords.DeserializeSummary("""{"schemaVersion":1,"runId":"r","job":"j","stages":1,"tasks":1,"tasksRun":1,"tasksSkipped":0,"attempts":1,"retries":0,"failed":0,"wallMs":1,"bytesRead":0,"bytesWritten":0,"output":null,"intermediateObjectsLeft":0,"status":"succeeded","error":null}"""u8);
        Assert.Null(old.Resources);

        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(_layout.ReportKey));
        var again = RunRecords.DeserializeReport(RunRecords.Serialize(report));
        Assert.Equal(
            report.Stages.Select(s => s.Resources!.Requests!.ToString()),
            again.Stages.Select(s => s.Resources!.Requests!.ToString()));
        Assert.Equal(
            report.Attempts.Select(a => a.Resources?.Requests?.ToString()),
            again.Attempts.Select(a => a.Resources?.Requests?.ToString()));
        Assert.Equal(System.Text.Encoding.UTF8.GetString(RunRecords.Serialize(report)), System.Text.Encoding.UTF8.GetString(RunRecords.Serialize(again)));
    }
}
