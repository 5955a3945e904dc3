namespace Dataflow.Worker.Tests.Commits;

public sealed class GroupCommitterTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly RunLayout _layout = new("group-commit-test");

    public void Dispose() => _folder.Dispose();

    private static CommitMarker Marker(int index) => new()
    {
        Task = new TaskId(0, index),
        AttemptId = $"a01-{index:x8}",
        Attempt = 1,
        CommittedAt = DateTimeOffset.UnixEpoch,
        DurationMs = 0,
        Outputs = [new CommittedOutput { Name = "out", Size = 0, Segments = [] }],
        Consumed = [],
    };

    private async Task<List<CommitRecord>> RecordsAsync(IObjectStore store)
    {
        var records = new List<CommitRecord>();
        foreach (var info in await store.ListAllAsync(_layout.CommitsPrefix))
        {
            records.Add(RunRecords.DeserializeCommitRecord(await store.ReadAllBytesAsync(info.Key), info.Key));
        }

        return records;
    }

    [Fact]
    public async Task CommitAsync_ManyAtOnce_StoresEachMarkerOnceInFewerRecords()
    {
        var store = ObjectStore.OpenFolder(_folder.Path);
        var handedOver = 0;
        const int Count = 200;

        // Busy until every commit has been handed over: the committer should gather them rather than write each alone.
        await using (var committer = new GroupCommitter(store, _layout, _ => Volatile.Read(ref handedOver) < Count))
        {
            var commits = new List<Task>();
            for (var i = 0; i < Count; i++)
            {
                commits.Add(committer.CommitAsync(Marker(i)));
                Interlocked.Increment(ref handedOver);
            }

            await Task.WhenAll(commits).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, committer.Waiting);
        }

        var records = await RecordsAsync(store);
        Assert.Equal(Enumerable.Range(0, Count), records.SelectMany(r => r.Markers).Select(m => m.Task.Index).Order());
        Assert.True(records.Count < Count / 2, $"{records.Count} records for {Count} commits");
        Assert.All(records, r => Assert.Equal(_layout.RunId, r.RunId));
    }

    [Fact]
    public async Task CommitAsync_RecordWriteFails_EveryCommitOfTheRecordFails()
    {
        var store = new FaultyStore(ObjectStore.OpenFolder(_folder.Path), key => key.StartsWith(_layout.CommitsPrefix, StringComparison.Ordinal));
        await using var committer = new GroupCommitter(store, _layout);

        var failures = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => Assert.ThrowsAsync<IOException>(() => committer.CommitAsync(Marker(i)))));

        Assert.All(failures, f => Assert.Contains("injected write failure", f.Message, StringComparison.Ordinal));
        Assert.Equal(0, committer.Waiting);
    }

    [Fact]
    public async Task CommitAsync_AfterDispose_Throws()
    {
        var committer = new GroupCommitter(ObjectStore.OpenFolder(_folder.Path), _layout);
        await committer.DisposeAsync();

        Assert.Throws<InvalidOperationException>(() => { _ = committer.CommitAsync(Marker(0)); });
    }
}
