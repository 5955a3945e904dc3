namespace Dataflow.Worker.Tests.Caching;

/// <summary><see cref="TaskCacheRunTests"/> on a folder, where an input's fingerprint is its file's identity and modification time.</summary>
public sealed class FolderTaskCacheRunTests : TaskCacheRunTests, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public override Task InitializeAsync()
    {
        Store = ObjectStore.OpenFolder(_folder.Path);
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync() => await Store.DisposeAsync();

    [Fact]
    public async Task CachedObject_DamagedWithItsSizeAndTimeKept_IsCaughtWhenRead_SetAsideAndRunAgain()
    {
        // A change the lookup cannot see (same size, same modification time) is caught by the checksum when a task reads
        // the object: the cached commit is set aside, its entry deleted, and its task runs.
        await WriteWordInputsAsync(20);
        await RunAsync(CacheTestJobs.WordCount());
        var parts = await PartsAsync("output/counts/");
        var victim = (await CachedObjectsAsync())[2];
        var path = Path.Combine(_folder.Path, victim.Key);
        var time = File.GetLastWriteTimeUtc(path);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^1] ^= 0x55;
        await File.WriteAllBytesAsync(path, bytes);
        File.SetLastWriteTimeUtc(path, time);

        var result = await RunAsync(CacheTestJobs.WordCount(reduceVersion: "2"));

        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(1, result.Summary.TasksSetAside);
        Assert.Equal(1 + 3, result.Summary.TasksRun);
        Assert.Contains(result.Summary.Cache!.Reasons!, r => r.Contains(victim.Key, StringComparison.Ordinal));
        Assert.Equal(parts, await PartsAsync("output/counts/"));
    }

    [Fact]
    public async Task CachedTaskDamagedWhenRead_WhoseInputsWerePassedOver_TakesThemFromTheCacheAndRunsAgain()
    {
        // Levels that read and write bytes (8, 4, 2, 1 tasks), each read checked against its checksum. The rerun's final task (a new version) reads the two cached outputs
        // of level 3; nothing reads the levels below, so they are passed over. One of the two is damaged in a way the
        // lookup cannot see: found when read, its commit is set aside, and before its task runs again the two tasks it
        // reads come back from the cache.
        var expected = await WriteCascadeInputsAsync(16);
        await RunAsync(CopyingCascade("1"));
        var entryKey = await EntryOfAsync(new TaskId(2, 0));
        var victim = Path.Combine(_folder.Path, RunRecords.DeserializeCacheEntry(await Store.ReadAllBytesAsync(entryKey), entryKey).Outputs[0].Key!);
        DamageKeepingSizeAndTime(victim);

        var result = await RunAsync(CopyingCascade("2"));

        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/merged.txt"));
        Assert.Equal(1, result.Summary.TasksSetAside);
        Assert.Equal(2, result.Summary.TasksRun); // the final task and the damaged one
        Assert.Equal([8, 4, 1, 0], result.Summary.Cache!.TasksCached);
        Assert.Equal(8 + 2, result.Summary.Cache.TasksNotNeeded); // level 1, and level 2 but the two brought back
        var again = await RunAsync(CopyingCascade("2"));
        Assert.Equal(0, again.Summary.TasksRun);
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/merged.txt"));
    }

    private static Job CopyingCascade(string finalVersion) =>
        Job.Named("cascade").FromPrefix("input/")
            .ReduceTree(new ReduceTreeOptions { FanIn = 2 }, new CopyConcatOperator("merge", "1"), new CopyConcatOperator("final", finalVersion))
            .WriteTo("output/merged.txt");

    private static void DamageKeepingSizeAndTime(string path)
    {
        var time = File.GetLastWriteTimeUtc(path);
        var bytes = File.ReadAllBytes(path);
        bytes[0] ^= 0x20;
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, time);
    }

    [Fact]
    public async Task FailedRunThatPassedTasksOver_RunsAndStatusCountThemAsDoneByTheCache()
    {
        // A rerun whose new final task fails: the two tasks it reads came from the cache, the twelve below them were
        // passed over. `runs` and `status` count all fourteen as done, those from the cache as such.
        await WriteCascadeInputsAsync(16);
        await RunAsync(CacheTestJobs.Cascade());
        var failing = Job.Named("cascade").FromPrefix("input/")
            .ReduceTree(new ReduceTreeOptions { FanIn = 2 }, new CacheTestJobs.VersionedConcat("merge", "1"), new FailingOperator("final", "2"))
            .WriteTo("output/merged.txt");

        var failed = await Assert.ThrowsAsync<JobFailedException>(() => RunAsync(failing));

        var listing = Assert.Single(await RunCatalog.ListAsync(Store), r => r.RunId == failed.RunId);
        Assert.Equal(("failed", 15, 14), (listing.State, listing.Tasks, listing.TasksCommitted));
        var status = await RunCatalog.GetStatusAsync(Store, failed.RunId!);
        Assert.Equal([(8, 8), (4, 4), (2, 2), (0, 0)], status!.Stages.Select(s => (s.Committed, s.Cached)));
        Assert.Equal(14, failed.Summary.TasksCached);
        Assert.Equal(12, failed.Summary.Cache!.TasksNotNeeded);
    }

    /// <summary>An operator that fails for good, under a name and version.</summary>
    private sealed class FailingOperator(string name, string version) : IObjectOperator
    {
        public string Name => name;

        public string? Version => version;

        public ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken) =>
            throw new PermanentTaskException("this version does not work");
    }

    [Fact]
    public async Task Input_ReplacedByAFileOfTheSameSizeAndTime_IsSeenByItsIdentity()
    {
        var expected = await WriteCascadeInputsAsync(16);
        await RunAsync(CacheTestJobs.Cascade());
        var path = Path.Combine(_folder.Path, "input/005");
        var time = File.GetLastWriteTimeUtc(path);
        File.Delete(path);
        await File.WriteAllTextAsync(path, "XYZ\n");
        File.SetLastWriteTimeUtc(path, time);
        expected = await InputsAsync();

        var result = await RunAsync(CacheTestJobs.Cascade());

        Assert.Equal(4, result.Summary.TasksRun);
        Assert.Equal(expected, await Store.ReadAllBytesAsync("output/merged.txt"));
    }
}

/// <summary><see cref="TaskCacheRunTests"/> on the S3 test server, where an input's fingerprint is its entity tag.</summary>
public sealed class S3TaskCacheRunTests : TaskCacheRunTests
{
    private readonly string _bucket = S3TestServer.NewBucket("cache");

    public override async Task InitializeAsync() => Store = await S3TestServer.OpenAsync(_bucket);

    public override async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(Store);
        await Store.DisposeAsync();
    }
}
