using System.Collections.Concurrent;

namespace Dataflow.Worker.Tests.Plans;

public sealed class PlanStoreTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;

    public PlanStoreTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task LoadAsync_ASavedPlan_IsThePlanThatWasSaved()
    {
        var plan = SeedPlan(2500);

        await PlanStore.SaveAsync(_store, plan, chunkSize: 300);
        var loaded = await PlanStore.LoadAsync(_store, plan.RunId);

        Assert.NotNull(loaded);
        Assert.Equal(PlanSerializer.Serialize(plan), PlanSerializer.Serialize(loaded));
        // 9 input chunks; stages of 1250, 625, 313, 157, … tasks in 5, 3, 2, 1, … chunks.
        var layout = new RunLayout(plan.RunId);
        var expectedChunks = 9 + Enumerable.Range(0, plan.Stages.Count).Sum(s => (plan.Stages[s].Tasks.Count + 299) / 300);
        Assert.Equal(expectedChunks, (await _store.ListAllAsync(layout.PlanChunksPrefix)).Count);
    }

    [Fact]
    public async Task LoadTasksAsync_AShardOfAStage_ReadsTheIndexAndOnlyTheChunksTheShardIsIn()
    {
        var plan = SeedPlan(2500);
        await PlanStore.SaveAsync(_store, plan, chunkSize: 300);
        var reads = new ConcurrentBag<string>();
        await using var recording = new HookedStore(_store, key => { reads.Add(key); return ValueTask.CompletedTask; });

        var partial = await PlanStore.LoadTasksAsync(recording, plan.RunId, stage: 0, first: 550, last: 650);

        Assert.NotNull(partial);
        var layout = new RunLayout(plan.RunId);
        Assert.Equal([layout.PlanKey, layout.PlanChunkKey(0, 1), layout.PlanChunkKey(0, 2)], reads.Order(StringComparer.Ordinal));
        for (var i = 550; i <= 650; i++)
        {
            Assert.Equal(plan.Stages[0].Tasks[i].Inputs, partial.GetTask(new TaskId(0, i)).Inputs);
        }

        // Every input the loaded tasks read has its size; a task outside the chunks is not there.
        var keys = Enumerable.Range(300, 600).SelectMany(i => plan.Stages[0].Tasks[i].Inputs).Select(r => r.Key!).ToHashSet();
        Assert.Equal(keys.Order(StringComparer.Ordinal), partial.Inputs.Select(i => i.Key).Order(StringComparer.Ordinal));
        Assert.Throws<InvalidOperationException>(() => partial.GetTask(new TaskId(0, 0)));
        Assert.Equal(plan.TaskCount, partial.TaskCount);
        Assert.Equal(plan.Outputs, partial.Outputs);
    }

    [Theory]
    [InlineData(12, 0, 0, "has stages 0 to 11, not 12")]
    [InlineData(0, 1200, 1250, "has tasks 0 to 1249; 1200-1250 is out of range")]
    public async Task LoadTasksAsync_OutOfRange_IsRefusedNamingTheRunAndStage(int stage, int first, int last, string message)
    {
        var plan = SeedPlan(2500);
        await PlanStore.SaveAsync(_store, plan, chunkSize: 300);

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => PlanStore.LoadTasksAsync(_store, plan.RunId, stage, first, last));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains($"run '{plan.RunId}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_AChunkDeleted_FailsAsADamagedPlanNamingTheMissingKey()
    {
        var plan = SeedPlan(100);
        await PlanStore.SaveAsync(_store, plan, chunkSize: 10);
        var missing = new RunLayout(plan.RunId).PlanChunkKey(1, 2);
        await _store.DeleteAsync([missing]);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => PlanStore.LoadAsync(_store, plan.RunId));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_NoSuchRun_IsNull()
    {
        Assert.Null(await PlanStore.LoadAsync(_store, "nothing"));
        Assert.Null(await PlanStore.LoadIndexAsync(_store, "nothing"));
        Assert.Null(await PlanStore.LoadTasksAsync(_store, "nothing", 0, 0, 0));
    }

    [Fact]
    public async Task LoadAsync_AWholePlanStoredByAnEarlierDataflow_IsStillRead()
    {
        var plan = SeedPlan(40);
        await _store.PutAsync(new RunLayout(plan.RunId).PlanKey, PlanSerializer.SerializeToUtf8Bytes(plan));

        var loaded = await PlanStore.LoadAsync(_store, plan.RunId);
        var index = await PlanStore.LoadIndexAsync(_store, plan.RunId);
        var tasks = await PlanStore.LoadTasksAsync(_store, plan.RunId, 1, 3, 5);

        Assert.Equal(PlanSerializer.Serialize(plan), PlanSerializer.Serialize(loaded!));
        Assert.Equal(plan.TaskCount, index!.TaskCount);
        Assert.Equal(plan.GetTask(new TaskId(1, 4)).Inputs, tasks!.GetTask(new TaskId(1, 4)).Inputs);
    }

    [Fact]
    public async Task LoadIndexAsync_NotAPlan_FailsNamingTheKey()
    {
        await _store.PutAsync(new RunLayout("r9").PlanKey, "{\"schemaVersion\":2,\"job\":1}"u8.ToArray());

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => PlanStore.LoadIndexAsync(_store, "r9"));

        Assert.Contains("_dataflow/runs/r9/plan.json", error.Message, StringComparison.Ordinal);
    }


    [Fact]
    public async Task LoadAsync_APlanOf100000Tasks_IsThePlanThatWasSaved()
    {
        var plan = SeedPlan(100_000, etags: true);

        await PlanStore.SaveAsync(_store, plan);
        var loaded = await PlanStore.LoadAsync(_store, plan.RunId);

        Assert.NotNull(loaded);
        Assert.True(loaded.TaskCount >= 100_000);
        Assert.Equal(PlanSerializer.SerializeToUtf8Bytes(plan), PlanSerializer.SerializeToUtf8Bytes(loaded));
    }

    [Fact]
    public async Task LoadTasksAsync_AShardOfALargePlan_ReadsBytesInProportionToTheShard()
    {
        var plan = SeedPlan(100_000);
        await PlanStore.SaveAsync(_store, plan);
        var stored = (await _store.ListAllAsync(new RunLayout(plan.RunId).Root)).Sum(o => o.Size);
        var reads = new ConcurrentBag<string>();
        await using var recording = new HookedStore(_store, key => { reads.Add(key); return ValueTask.CompletedTask; });

        var partial = await PlanStore.LoadTasksAsync(recording, plan.RunId, stage: 0, first: 5000, last: 5009);

        var layout = new RunLayout(plan.RunId);
        Assert.Equal([layout.PlanKey, layout.PlanChunkKey(0, 5000 / PlanChunks.DefaultChunkSize)], reads.Order(StringComparer.Ordinal));
        var read = 0L;
        foreach (var key in reads)
        {
            read += (await _store.HeadAsync(key))!.Size;
        }

        Assert.True(read * 20 < stored, $"a shard of 10 tasks read {read} of the plan's {stored} bytes");
        Assert.Equal(plan.Stages[0].Tasks[5005].Inputs, partial!.GetTask(new TaskId(0, 5005)).Inputs);
        Assert.Equal(plan.Inputs[10010], Assert.Single(partial.Inputs, i => i.Key == plan.Inputs[10010].Key));
    }

    [Fact]
    public async Task LoadAsync_ADamagedChunk_FailsNamingTheChunkAndTheRun()
    {
        var plan = SeedPlan(100);
        await PlanStore.SaveAsync(_store, plan, chunkSize: 10);
        var damaged = new RunLayout(plan.RunId).PlanChunkKey(0, 3);
        var bytes = await _store.ReadAllBytesAsync(damaged);
        await _store.PutAsync(damaged, bytes.AsSpan(0, bytes.Length / 2).ToArray());

        var whole = await Assert.ThrowsAsync<InvalidDataException>(() => PlanStore.LoadAsync(_store, plan.RunId));
        var shard = await Assert.ThrowsAsync<InvalidDataException>(() => PlanStore.LoadTasksAsync(_store, plan.RunId, 0, 30, 31));

        AssertEachSays([whole, shard], damaged, $"run '{plan.RunId}'", "damaged");
    }

    [Fact]
    public async Task LoadAsync_APlanStoredInChunksOfAnObjectPerTask_IsStillRead()
    {
        var plan = SeedPlan(2500, etags: true);
        await SaveVersion2Async(_store, plan, chunkSize: 300);

        var loaded = await PlanStore.LoadAsync(_store, plan.RunId);
        var index = await PlanStore.LoadIndexAsync(_store, plan.RunId);
        var tasks = await PlanStore.LoadTasksAsync(_store, plan.RunId, 1, 400, 410);

        Assert.Equal(2, index!.SchemaVersion);
        Assert.Equal(PlanSerializer.Serialize(plan), PlanSerializer.Serialize(loaded!));
        Assert.Equal(plan.GetTask(new TaskId(1, 405)).Inputs, tasks!.GetTask(new TaskId(1, 405)).Inputs);
    }

    [Fact]
    public async Task LoadAsync_APlanOfANewerSchema_IsRefusedNamingTheRunAndThePlanKey()
    {
        var plan = SeedPlan(40);
        await PlanStore.SaveAsync(_store, plan, chunkSize: 10);
        var key = new RunLayout(plan.RunId).PlanKey;
        var index = System.Text.Encoding.UTF8.GetString(await _store.ReadAllBytesAsync(key));
        await _store.PutAsync(key, System.Text.Encoding.UTF8.GetBytes(index.Replace("\"schemaVersion\":3", "\"schemaVersion\":4", StringComparison.Ordinal)));

        var whole = await Assert.ThrowsAsync<InvalidDataException>(() => PlanStore.LoadAsync(_store, plan.RunId));
        var shard = await Assert.ThrowsAsync<InvalidDataException>(() => PlanStore.LoadTasksAsync(_store, plan.RunId, 0, 0, 0));

        AssertEachSays([whole, shard], key, $"run '{plan.RunId}'", "schema version 4");
    }

    private static void AssertEachSays(Exception[] errors, params string[] parts)
    {
        foreach (var error in errors)
        {
            Assert.All(parts, part => Assert.Contains(part, error.Message, StringComparison.Ordinal));
        }
    }

    // What Dataflow stored before the compact chunks: an index of schema version 2 and chunks of an object per task.
    private static async Task SaveVersion2Async(IObjectStore store, Plan plan, int chunkSize)
    {
        var layout = new RunLayout(plan.RunId);
        var index = PlanChunks.Index(plan, chunkSize) with { SchemaVersion = 2 };
        var inputs = plan.Inputs.ToDictionary(i => i.Key, StringComparer.Ordinal);
        for (var c = 0; c < index.InputChunks; c++)
        {
            await store.PutAsync(layout.PlanInputChunkKey(c), PlanSerializer.SerializePart(PlanChunks.InputChunk(plan, index, c)));
        }

        for (var s = 0; s < index.Stages.Count; s++)
        {
            for (var c = 0; c < index.StageChunks(s); c++)
            {
                await store.PutAsync(layout.PlanChunkKey(s, c), PlanSerializer.SerializePart(PlanChunks.TaskChunk(plan, index, inputs, s, c)));
            }
        }

        await store.PutAsync(layout.PlanKey, PlanSerializer.SerializePart(index));
    }

    private static Plan SeedPlan(int inputs, bool etags = false)
    {
        var keys = Enumerable.Range(0, inputs).Select(i => $"in/{i:D6}").ToList();
        var job = Job.Named("seed").FromKeys(keys).ReduceTree(2, new ConcatOperator()).WriteTo("out/merged");
        return JobPlanner.CreatePlan(job, [.. keys.Select((k, i) => new PlanInput(k, i + 1) { ETag = etags && i % 3 == 0 ? $"\"e{i}\"" : null })], "r1", DateTimeOffset.UnixEpoch);
    }
}
