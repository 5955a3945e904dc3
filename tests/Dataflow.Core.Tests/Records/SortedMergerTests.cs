namespace Dataflow.Core.Tests.Records;

public sealed class SortedMergerTests
{
    private sealed class Source<T>(IReadOnlyList<T> items) : IAsyncEnumerator<T>
    {
        private int _next;

        public bool Disposed { get; private set; }

        public int Reads { get; private set; }

        public T Current { get; private set; } = default!;

        public async ValueTask<bool> MoveNextAsync()
        {
            // Every other record completes asynchronously, as a stream that must read does.
            if (_next % 2 == 1)
            {
                await Task.Yield();
            }

            Reads++;
            if (_next == items.Count)
            {
                return false;
            }

            Current = items[_next++];
            return true;
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }

    private static async Task<List<(T Record, int Source)>> MergeAsync<T>(IComparer<T>? comparer, params IReadOnlyList<T>[] sources)
    {
        var merged = new List<(T, int)>();
        await using var merger = new SortedMerger<T>([.. sources.Select(s => new Source<T>(s))], comparer);
        while (await merger.MoveNextAsync())
        {
            merged.Add((merger.Current, merger.CurrentSource));
        }

        Assert.False(await merger.MoveNextAsync());
        return merged;
    }

    [Fact]
    public async Task MoveNextAsync_EqualRecordsInSeveralSources_ComeOutInSourceOrder()
    {
        var byKey = Comparer<(int Key, string Tag)>.Create((a, b) => a.Key.CompareTo(b.Key));

        var merged = await MergeAsync(
            byKey,
            [(1, "a0"), (2, "a1"), (2, "a2")],
            [(1, "b0"), (2, "b1")],
            [(0, "c0"), (2, "c1"), (3, "c2")]);

        Assert.Equal(["c0", "a0", "b0", "a1", "a2", "b1", "c1", "c2"], merged.Select(m => m.Record.Item2));
        Assert.Equal([2, 0, 1, 0, 0, 1, 2, 2], merged.Select(m => m.Source));
    }

    [Fact]
    public async Task MoveNextAsync_EmptySourcesAmongOthers_AreSkipped()
    {
        var merged = await MergeAsync<long>(null, [], [3, 5], [], [1, 4, 9], []);

        Assert.Equal([1L, 3, 4, 5, 9], merged.Select(m => m.Record));
    }

    [Fact]
    public async Task MoveNextAsync_OnlyEmptySourcesOrNone_EndsAtOnce()
    {
        Assert.Empty(await MergeAsync<long>(null, [], []));
        Assert.Empty(await MergeAsync<long>(null));
    }

    [Fact]
    public async Task MoveNextAsync_OneSource_PassesItThrough()
    {
        long[] one = [-7, -7, 0, 2, long.MaxValue];

        var merged = await MergeAsync<long>(null, one);

        Assert.Equal(one, merged.Select(m => m.Record));
        Assert.All(merged, m => Assert.Equal(0, m.Source));
    }

    [Fact]
    public async Task MoveNextAsync_RandomSortedSources_EqualAStableSortOfAll()
    {
        var random = new Random(7);
        var sources = Enumerable.Range(0, 37)
            .Select(_ => (IReadOnlyList<int>)[.. Enumerable.Range(0, random.Next(0, 60)).Select(_ => random.Next(-50, 50)).Order()])
            .ToArray();

        var merged = await MergeAsync<int>(null, sources);

        var expected = sources.SelectMany((s, i) => s.Select(r => (r, i))).OrderBy(p => p.r).ToList();
        Assert.Equal(expected, merged);
    }

    [Fact]
    public async Task MoveNextAsync_ComparerGiven_MergesInItsOrder()
    {
        var merged = await MergeAsync(StringComparer.Ordinal, ["b", "d"], ["B", "a", "c"]);

        Assert.Equal(["B", "a", "b", "c", "d"], merged.Select(m => m.Record));
    }

    [Fact]
    public async Task MoveNextAsync_UnsortedSourceWithCheckOrder_ThrowsNamingIt()
    {
        await using var merger = new SortedMerger<int>([new Source<int>([1, 2]), new Source<int>([1, 5, 3])])
        {
            CheckOrder = true,
            SourceNames = ["input/a.txt", "input/b.txt"],
        };

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            while (await merger.MoveNextAsync())
            {
            }
        });

        Assert.Contains("input/b.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("record 3 (3)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MoveNextAsync_UnsortedSourceWithoutCheckOrder_DoesNotThrow()
    {
        var merged = await MergeAsync<int>(null, [1, 5, 3]);

        Assert.Equal([1, 5, 3], merged.Select(m => m.Record));
    }

    [Fact]
    public async Task MoveNextAsync_SourceAdvancedOnlyWhenMergePassesItsRecord()
    {
        var a = new Source<int>([1, 2, 3]);
        var b = new Source<int>([10]);
        await using var merger = new SortedMerger<int>([a, b]);

        Assert.True(await merger.MoveNextAsync());

        // Each source has read its first record only: the next of a is read when the merge moves past 1.
        Assert.Equal((1, 1), (a.Reads, b.Reads));
        Assert.True(await merger.MoveNextAsync());
        Assert.Equal((2, 1), (a.Reads, b.Reads));
    }

    [Fact]
    public async Task DisposeAsync_DisposesEverySource()
    {
        Source<int>[] sources = [new([1]), new([]), new([2, 3])];
        var merger = new SortedMerger<int>(sources);
        Assert.True(await merger.MoveNextAsync());

        await merger.DisposeAsync();

        Assert.All(sources, s => Assert.True(s.Disposed));
    }
}
