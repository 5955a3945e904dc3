using System.Text;

namespace Dataflow.Worker.Tests.Caching;

/// <summary>
/// Runs with the task cache, on a folder (<see cref="FolderTaskCacheRunTests"/>) and on the S3 test server
/// (<see cref="S3TaskCacheRunTests"/>, where fingerprints are entity tags): a rerun runs nothing and publishes the same
/// output; one changed input reruns its path and nothing else; a changed operator version reruns its tasks; an entry
/// whose object went or changed means its task runs, and the summary says why. Every run is a new run id, one after the
/// other, so the cache is shared across runs.
/// </summary>
public abstract partial class TaskCacheRunTests : IAsyncLifetime
{
    protected IObjectStore Store { get; set; } = null!;

    public abstract Task InitializeAsync();

    public abstract Task DisposeAsync();

    protected Task<RunResult> RunAsync(Job job, CacheMode cache = CacheMode.On, IObjectStore? store = null) =>
        new JobRunner(store ?? Store, new JobRunnerOptions { Concurrency = 2, MaxAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1), Cache = cache, Overwrite = true }).RunAsync(job);

    protected async Task<byte[]> WriteCascadeInputsAsync(int count = 512)
    {
        var all = new List<byte>();
        for (var i = 0; i < count; i++)
        {
            var bytes = Encoding.ASCII.GetBytes($"{i:D3}\n");
            await Store.PutAsync($"input/{i:D3}", bytes);
            all.AddRange(bytes);
        }

        return [.. all];
    }

    protected async Task<byte[]> InputsAsync()
    {
        var all = new List<byte>();
        foreach (var info in await Store.ListAllAsync("input/"))
        {
            all.AddRange(await Store.ReadAllBytesAsync(info.Key));
        }

        return [.. all];
    }

    protected async Task WriteWordInputsAsync(int count = 65)
    {
        for (var i = 0; i < count; i++)
        {
            await Store.PutAsync(CacheTestJobs.WordKey(i), CacheTestJobs.Words(i));
        }
    }

    protected async Task<Dictionary<string, string>> PartsAsync(string prefix)
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var info in await Store.ListAllAsync(prefix))
        {
            parts[info.Key[prefix.Length..]] = Encoding.UTF8.GetString(await Store.ReadAllBytesAsync(info.Key));
        }

        return parts;
    }

    protected async Task<List<ObjectInfo>> CachedObjectsAsync() => await Store.ListAllAsync(CacheLayout.DataPrefix);

    protected async Task<List<ObjectInfo>> EntriesAsync() => await Store.ListAllAsync(CacheLayout.EntriesPrefix);

    /// <summary>The key of the entry a run wrote for task <paramref name="task"/>.</summary>
    protected async Task<string> EntryOfAsync(TaskId task)
    {
        var found = new List<string>();
        foreach (var entry in await EntriesAsync())
        {
            if (RunRecords.DeserializeCacheEntry(await Store.ReadAllBytesAsync(entry.Key), entry.Key).Task == task)
            {
                found.Add(entry.Key);
            }
        }

        return Assert.Single(found);
    }

    [Fact]
    public async Task SeedCascade_RunTwice_SecondRunsNoTaskAndPublishesTheSameOutput()
    {
        var expected = await WriteCascadeInputsAsync();

        var cold = await RunAsync(CacheTestJobs.Cascade());
        var published = await Store.HeadAsync("output/merged.txt");
        var warm = await RunAsync(CacheTestJobs.Cascade());

        Assert.Equal(511, cold.Summary.TasksRun);
        Assert.Equal(0, cold.Summary.TasksCached);
        Assert.Equal(511, cold.Summary.Cache!.EntriesWritten);
        Assert.Equal(511, cold.Summary.Cache.TasksWithKey);
        Assert.Equal(0, warm.Summary.TasksRun);
        Assert.Equal(0, warm.Summary.Attempts);
        Assert.Equal(511, warm.Summary.TasksCached);
        Assert.Equal([256, 128, 64, 32, 16, 8, 4, 2, 1], warm.Summary.Cache!.TasksCached);
        Assert.Equal(0, warm.Summary.Cache.EntriesWritten);
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/merged.txt"));
        // Published in place by the first run and left as it was: the same version, not a copy.
        Assert.Equal(published!.ETag, (await Store.HeadAsync("output/merged.txt"))!.ETag);
        Assert.NotEqual(cold.Summary.RunId, warm.Summary.RunId);
        var report = RunRecords.DeserializeReport(await Store.ReadAllBytesAsync(new RunLayout(warm.Summary.RunId).ReportKey));
        // Looked up from the output down: the final task's entry is enough, and nothing below it is even looked up.
        Assert.Equal(1, warm.Summary.Cache.Lookups);
        Assert.Equal(510, warm.Summary.Cache.TasksNotNeeded);
        Assert.Equal(511, report.Stages.Sum(s => s.Cached));
        var cached = Assert.Single(report.Attempts);
        Assert.Equal((8, 0, AttemptOutcomes.Cached, "cache"), (cached.Stage, cached.Task, cached.Outcome, report.Rows[cached.Row]));
    }

    [Fact]
    public async Task SeedCascade_OneInputChanged_RunsExactlyNineTasks_AndEqualsARunWithoutTheCache()
    {
        await WriteCascadeInputsAsync();
        await RunAsync(CacheTestJobs.Cascade());
        await Store.PutAsync("input/100", Encoding.ASCII.GetBytes("changed\n"));

        var changed = await RunAsync(CacheTestJobs.Cascade());
        var uncached = await RunAsync(CacheTestJobs.Cascade(output: "output/uncached.txt"), CacheMode.Off);

        Assert.Equal(9, changed.Summary.TasksRun);
        Assert.Equal(502, changed.Summary.TasksCached);
        Assert.Equal([255, 127, 63, 31, 15, 7, 3, 1, 0], changed.Summary.Cache!.TasksCached);
        Assert.Equal(9, changed.Summary.Cache.EntriesWritten);
        // The path's 9 tasks and their 8 siblings were looked up; the other 494 tasks only feed siblings.
        Assert.Equal(17, changed.Summary.Cache.Lookups);
        Assert.Equal(494, changed.Summary.Cache.TasksNotNeeded);
        Assert.Equal(511, uncached.Summary.TasksRun);
        Assert.Null(uncached.Summary.Cache);
        var output = await Store.ReadAllBytesAsync("output/merged.txt");
        Assert.Equal(await Store.ReadAllBytesAsync("output/uncached.txt"), output);
        Assert.Equal(await InputsAsync(), output);
        Assert.Contains("changed\n", Encoding.ASCII.GetString(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SeedCascade_FinalOperatorsVersionChanged_RerunsOnlyItsTask()
    {
        var expected = await WriteCascadeInputsAsync(64);
        await RunAsync(CacheTestJobs.Cascade());

        var final = await RunAsync(CacheTestJobs.Cascade(finalVersion: "2"));
        var merge = await RunAsync(CacheTestJobs.Cascade(mergeVersion: "2", finalVersion: "2"));

        Assert.Equal(1, final.Summary.TasksRun);
        Assert.Equal(62, final.Summary.TasksCached);
        // The merge operator's tasks rerun, and the final task, which reads their keys; nothing of any other operator.
        Assert.Equal(63, merge.Summary.TasksRun);
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/merged.txt"));
    }

    [Fact]
    public async Task WordCount_OneObjectChanged_RunsOnlyItsMapTasksAndTheReducers_WithTheColdRunsParts()
    {
        await WriteWordInputsAsync();
        var cold = await RunAsync(CacheTestJobs.WordCount());
        var warm = await RunAsync(CacheTestJobs.WordCount());
        var changedObject = CacheTestJobs.WordKey(17);
        await Store.PutAsync(changedObject, CacheTestJobs.Words(17, seed: 5));

        var changed = await RunAsync(CacheTestJobs.WordCount());
        var uncached = await RunAsync(CacheTestJobs.WordCount(output: "output/uncached/"), CacheMode.Off);

        var maps = cold.Plan.Stages[0].Tasks.Count;
        Assert.True(maps >= 130, $"only {maps} map tasks: the objects were not split");
        var mapsOfObject = changed.Plan.Stages[0].Tasks.Count(t => t.Inputs.Any(i => i.Key == changedObject));
        Assert.InRange(mapsOfObject, 2, 5);
        Assert.Equal(maps + 3, cold.Summary.TasksRun);
        Assert.Equal(0, warm.Summary.TasksRun);
        Assert.Equal(mapsOfObject + 3, changed.Summary.TasksRun);
        Assert.Equal([changed.Plan.Stages[0].Tasks.Count - mapsOfObject, 0], changed.Summary.Cache!.TasksCached);
        Assert.Equal(await PartsAsync("output/uncached/"), await PartsAsync("output/counts/"));
        Assert.Equal(3, (await PartsAsync("output/counts/")).Count);
    }

    [Fact]
    public async Task WordCount_ReducersVersionChanged_RerunsEveryReducerAndNoMapTask()
    {
        await WriteWordInputsAsync(20);
        var cold = await RunAsync(CacheTestJobs.WordCount());
        var parts = await PartsAsync("output/counts/");

        var reduce = await RunAsync(CacheTestJobs.WordCount(reduceVersion: "2"));

        Assert.Equal(3, reduce.Summary.TasksRun);
        Assert.Equal([cold.Plan.Stages[0].Tasks.Count, 0], reduce.Summary.Cache!.TasksCached);
        Assert.Equal(parts, await PartsAsync("output/counts/"));
    }

    [Fact]
    public async Task CachedObject_DeletedByHand_ItsTaskRunsAgain_AndTheSummarySaysWhy()
    {
        await WriteWordInputsAsync(20);
        await RunAsync(CacheTestJobs.WordCount());
        var parts = await PartsAsync("output/counts/");
        var victim = (await CachedObjectsAsync())[3].Key;
        await Store.DeleteAsync([victim]);

        // Unchanged reducers would be taken from the cache and nothing would read the map outputs: new ones read them all.
        var result = await RunAsync(CacheTestJobs.WordCount(reduceVersion: "2"));

        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(1 + 3, result.Summary.TasksRun);
        Assert.Equal(1, result.Summary.Cache!.EntriesInvalid);
        Assert.Contains(result.Summary.Cache.Reasons!, r => r.Contains(victim, StringComparison.Ordinal) && r.Contains("is missing", StringComparison.Ordinal));
        Assert.Equal(parts, await PartsAsync("output/counts/"));
        var again = await RunAsync(CacheTestJobs.WordCount(reduceVersion: "3"));
        Assert.Equal(3, again.Summary.TasksRun);
    }

    [Fact]
    public async Task CachedObject_RewrittenByHand_ItsTaskRunsAgain_AndTheSummarySaysWhy()
    {
        await WriteWordInputsAsync(20);
        await RunAsync(CacheTestJobs.WordCount());
        var parts = await PartsAsync("output/counts/");
        var victim = (await CachedObjectsAsync())[5];
        await Store.PutAsync(victim.Key, new byte[victim.Size]);

        var result = await RunAsync(CacheTestJobs.WordCount(reduceVersion: "2"));

        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(1 + 3, result.Summary.TasksRun);
        Assert.Equal(0, result.Summary.TasksSetAside);
        Assert.Contains(result.Summary.Cache!.Reasons!, r => r.Contains(victim.Key, StringComparison.Ordinal) && r.Contains("changed since it was cached", StringComparison.Ordinal));
        Assert.Equal(parts, await PartsAsync("output/counts/"));
    }

    [Fact]
    public async Task Entry_DamagedByHand_ItsTaskRunsAgain_AndTheSummarySaysWhy()
    {
        var expected = await WriteCascadeInputsAsync(16);
        await RunAsync(CacheTestJobs.Cascade());
        // The final task's entry: the one a rerun looks up first (the others are looked up only if it misses).
        var entry = await EntryOfAsync(new TaskId(3, 0));
        await Store.PutAsync(entry, Encoding.UTF8.GetBytes("{\"schemaVersion\":1,\"key\":"));

        var result = await RunAsync(CacheTestJobs.Cascade());

        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(1, result.Summary.TasksRun);
        Assert.Contains(result.Summary.Cache!.Reasons!, r => r.Contains(entry, StringComparison.Ordinal) && r.Contains("not valid JSON", StringComparison.Ordinal));
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/merged.txt"));
        var again = await RunAsync(CacheTestJobs.Cascade());
        Assert.Equal(0, again.Summary.TasksRun);
    }

    [Fact]
    public async Task PublishedOutput_ChangedByHand_OnlyTheFinalTaskRuns()
    {
        var expected = await WriteCascadeInputsAsync(32);
        await RunAsync(CacheTestJobs.Cascade());
        await Store.PutAsync("output/merged.txt", Encoding.ASCII.GetBytes("someone else's bytes"));

        var result = await RunAsync(CacheTestJobs.Cascade());

        Assert.Equal(1, result.Summary.TasksRun);
        Assert.Contains(result.Summary.Cache!.Reasons!, r => r.Contains("output/merged.txt", StringComparison.Ordinal));
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/merged.txt"));
    }

    [Fact]
    public async Task OutputKeyChanged_CachedFinalOutputIsCopiedThere_AndTheFirstStays()
    {
        var expected = await WriteCascadeInputsAsync(32);
        await RunAsync(CacheTestJobs.Cascade());

        var moved = await RunAsync(CacheTestJobs.Cascade(output: "output/elsewhere.txt"));

        Assert.Equal(0, moved.Summary.TasksRun);
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/elsewhere.txt"));
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/merged.txt"));
    }

    [Fact]
    public async Task ReadOnly_TakesTasksFromTheCache_AddsNothing_AndCollectsWhatItRuns()
    {
        await WriteWordInputsAsync(20);
        await RunAsync(CacheTestJobs.WordCount());
        var entries = await EntriesAsync();
        var objects = await CachedObjectsAsync();
        await Store.PutAsync(CacheTestJobs.WordKey(4), CacheTestJobs.Words(4, seed: 9));

        var result = await RunAsync(CacheTestJobs.WordCount(), CacheMode.ReadOnly);
        var uncached = await RunAsync(CacheTestJobs.WordCount(output: "output/uncached/"), CacheMode.Off);

        Assert.Equal("read-only", result.Summary.Cache!.Mode);
        Assert.True(result.Summary.TasksCached > 0);
        Assert.Equal(0, result.Summary.Cache.EntriesWritten);
        Assert.Equal(entries.Select(e => e.Key), (await EntriesAsync()).Select(e => e.Key));
        Assert.Equal(objects.Select(e => e.Key), (await CachedObjectsAsync()).Select(e => e.Key));
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
        Assert.Empty(await Store.ListAllAsync(new RunLayout(result.Summary.RunId).DataPrefix));
        Assert.Equal(await PartsAsync("output/uncached/"), await PartsAsync("output/counts/"));
    }

    [Fact]
    public async Task OperatorWithoutAVersion_IsNeverCached_AndTheSummarySaysWhy()
    {
        await WriteCascadeInputsAsync(8);
        await RunAsync(CacheTestJobs.Cascade(mergeVersion: null));

        var again = await RunAsync(CacheTestJobs.Cascade(mergeVersion: null));

        Assert.Equal(7, again.Summary.TasksRun);
        Assert.Equal(0, again.Summary.Cache!.TasksWithKey);
        Assert.Contains("operator 'merge' declares no Version", again.Summary.Cache.Reasons!);
        Assert.Empty(await EntriesAsync());
        Assert.Empty(await CachedObjectsAsync());
    }
}
