namespace Dataflow.Storage.Tests.Requests;

/// <summary>The request counter and the current counter of a flow: nesting, flowing into tasks, the folder store's counts.</summary>
public sealed class StoreRequestCountsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Count_EachKind_CountsInItsOwnFieldAndAddAndSnapshotCopyThem()
    {
        var counts = new StoreRequestCounts();
        foreach (var (kind, times) in new[] { (StoreRequestKind.List, 1), (StoreRequestKind.Head, 2), (StoreRequestKind.Get, 3), (StoreRequestKind.Put, 4), (StoreRequestKind.Part, 5), (StoreRequestKind.Copy, 6), (StoreRequestKind.Delete, 7) })
        {
            for (var i = 0; i < times; i++)
            {
                counts.Count(kind);
            }
        }

        Assert.Equal("list=1 head=2 get=3 put=4 part=5 copy=6 delete=7", counts.ToString());
        Assert.Equal(28, counts.Total);
        var snapshot = counts.Snapshot();
        counts.Count(StoreRequestKind.Get);
        Assert.Equal(3, snapshot.Get);
        Assert.Equal(4, counts[StoreRequestKind.Get]);
        var sum = StoreRequestCounts.Sum([snapshot, null, counts]);
        Assert.Equal("list=2 head=4 get=7 put=8 part=10 copy=12 delete=14", sum.ToString());
    }

    [Fact]
    public async Task Begin_NestedScopes_CountIntoTheInnermostAndTasksStartedInsideKeepTheirs()
    {
        var outer = new StoreRequestCounts();
        var inner = new StoreRequestCounts();
        Task background;
        using (StoreRequests.Begin(outer))
        {
            StoreRequests.Count(StoreRequestKind.List);
            using (StoreRequests.Begin(inner))
            {
                StoreRequests.Count(StoreRequestKind.Get);
                var gate = new TaskCompletionSource();
                background = Task.Run(async () =>
                {
                    await gate.Task;
                    StoreRequests.Count(StoreRequestKind.Part);
                });

                // The scope ends before the background task counts: it still counts into the counter it started with.
                gate.SetResult();
            }

            await background;
            StoreRequests.Count(StoreRequestKind.Delete);
        }

        StoreRequests.Count(StoreRequestKind.Put);
        Assert.Null(StoreRequests.Current);
        Assert.Equal("list=1 head=0 get=0 put=0 part=0 copy=0 delete=1", outer.ToString());
        Assert.Equal("list=0 head=0 get=1 put=0 part=1 copy=0 delete=0", inner.ToString());
    }

    [Fact]
    public async Task FolderStore_EachCall_CountsOneRequestOfItsKind()
    {
        var store = ObjectStore.OpenFolder(_folder.Path);
        var counts = new StoreRequestCounts();
        using (StoreRequests.Begin(counts))
        {
            await store.PutAsync("a/one", "hello"u8.ToArray());                                   // put
            await ((IAtomicCreateStore)store).TryCreateAsync("a/two", "world"u8.ToArray());       // put
            await store.HeadAsync("a/one");                                                      // head
            await store.GetIdentityAsync("a/one");                                               // head
            await using ((await store.OpenReadAsync("a/one")).ConfigureAwait(false))             // get
            {
            }

            await using ((await store.OpenSegmentAsync(ObjectSegment.Whole("a/two", 5))).ConfigureAwait(false)) // get
            {
            }

            await foreach (var _ in store.ListAsync("a/"))                                       // list
            {
            }

            await store.ComposeAsync("a/three", [ObjectSegment.Whole("a/one", 5), ObjectSegment.Whole("a/two", 5)]); // copy
            await store.MoveAsync("a/three", "a/four");                                          // copy
            await store.DeleteAsync(["a/one", "a/two", "a/four"]);                                // delete
        }

        Assert.Equal("list=1 head=2 get=2 put=2 part=0 copy=2 delete=1", counts.ToString());
    }
}
