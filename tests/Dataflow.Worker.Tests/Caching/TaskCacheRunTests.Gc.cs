namespace Dataflow.Worker.Tests.Caching;

/// <summary>The task cache shared by runs that overlap, and trimmed while one runs (<c>gc --cache</c>).</summary>
public abstract partial class TaskCacheRunTests
{
    [Fact]
    public async Task RunStartedWhileAnotherHoldsEntries_SharesThem_AndGcNeverTrimsAHeldEntry()
    {
        await WriteWordInputsAsync(20);
        var cold = await RunAsync(CacheTestJobs.WordCount());
        var parts = await PartsAsync("output/counts/");
        var maps = cold.Plan.Stages[0].Tasks.Count;
        var before = await TaskCache.GetUsageAsync(Store);
        var cachedBefore = (await CachedObjectsAsync()).Select(o => o.Key).ToList();

        // Run B takes every map task from the cache and holds those entries while its new reducers wait.
        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        var blocking = new BlockingReducer(entered, release);
        var runB = Task.Run(() => RunAsync(CacheTestJobs.WordCount(output: "output/b/", reduceVersion: "2", reducer: blocking)));
        Assert.True(await entered.WaitAsync(TimeSpan.FromMinutes(2)), "run B's reducer never started");

        // Run C starts while B holds the entries: it takes everything from the cache too.
        var runC = await RunAsync(CacheTestJobs.WordCount(output: "output/c/"));
        var trim = await TaskCache.TrimAsync(Store, new CacheTrimOptions { MaxBytes = 0 });
        var entriesDuringB = (await EntriesAsync()).Count;
        var cachedDuringB = (await CachedObjectsAsync()).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        release.Set();
        var runBResult = await runB;

        Assert.Equal(0, runC.Summary.TasksRun);
        Assert.Equal(parts, await PartsAsync("output/c/"));
        Assert.True(maps == trim.EntriesHeld, $"{trim.EntriesHeld} entries held, {maps} map tasks; runs: {string.Join(", ", (await RunCatalog.ListAsync(Store)).Select(r => $"{r.RunId} {r.State}"))}");
        // The bound asks for every byte, but what the map entries hold is held by run B; the reducers' entries hold
        // no cached bytes (their outputs are the published parts), so deleting them would free nothing.
        Assert.Equal(0, trim.EntriesDeleted);
        Assert.Equal(maps + 3, entriesDuringB); // the map tasks' and the reducers'
        // Every object the held entries refer to is still there (and what run B has written so far).
        Assert.Equal(maps, cachedBefore.Count);
        Assert.All(cachedBefore, key => Assert.Contains(key, cachedDuringB));
        Assert.Equal(before.Entries, trim.After.Entries);
        Assert.Equal("succeeded", runBResult.Summary.Status);
        Assert.Equal(3, runBResult.Summary.TasksRun);
        Assert.Equal(maps, runBResult.Summary.TasksCached);
        Assert.Equal(parts, await PartsAsync("output/b/"));

        // Nothing holds them now: the same bound trims every cached object, and measures what is left.
        var after = await TaskCache.TrimAsync(Store, new CacheTrimOptions { MaxBytes = 0 });
        Assert.Equal(0, after.EntriesHeld);
        Assert.Equal(0, after.After.Objects);
        Assert.Empty(await CachedObjectsAsync());
        Assert.True(after.After.Bytes < trim.After.Bytes / 10, $"{after.After.Bytes} bytes left of {trim.After.Bytes}");
        var rerun = await RunAsync(CacheTestJobs.WordCount());
        // The reducers' entries stay (they point at the published parts), so nothing below them is needed.
        Assert.Equal(0, rerun.Summary.TasksRun);
        Assert.Equal(parts, await PartsAsync("output/counts/"));
    }

    [Fact]
    public async Task GcCache_MaxAge_TrimsOldEntries_AndUnreferencedObjects()
    {
        await WriteWordInputsAsync(10);
        await RunAsync(CacheTestJobs.WordCount());
        var before = await TaskCache.GetUsageAsync(Store);

        var young = await TaskCache.TrimAsync(Store, new CacheTrimOptions { MaxAge = TimeSpan.FromHours(1) });
        var old = await TaskCache.TrimAsync(Store, new CacheTrimOptions { MaxAge = TimeSpan.FromHours(1) }, new ShiftedTime(TimeSpan.FromHours(2)));

        Assert.Equal(before, young.After);
        Assert.Equal(0, young.EntriesDeleted);
        Assert.Equal(before.Entries, old.EntriesDeleted);
        Assert.Equal(before.Objects, old.ObjectsDeleted);
        Assert.Equal(new CacheUsage(0, 0, 0), old.After);
    }

    /// <summary>A reducer that, the first time it reduces, says so and waits to be let go.</summary>
    private sealed class BlockingReducer(SemaphoreSlim entered, ManualResetEventSlim release) : Reducer<string, long, long>
    {
        private int _first;

        public override long Reduce(string key, IReadOnlyList<long> values)
        {
            if (Interlocked.Exchange(ref _first, 1) == 0)
            {
                entered.Release();
                release.Wait(TimeSpan.FromMinutes(2));
            }

            return values.Sum();
        }
    }

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + shift;
    }
}
