namespace Dataflow.Core;

/// <summary>
/// A streaming k-way merge of sorted record streams: it holds one record of each source (the source's head) in a
/// binary heap and returns the smallest next, so it needs memory for one record per source whatever their lengths,
/// and about log2(k) comparisons per record. Equal records come out in source order (those of source 0 first), so
/// the merge is stable and the same on every run. Map-reduce's reduce tasks and typed reduce trees merge with it.
/// </summary>
/// <remarks>
/// A source is advanced only when the merge moves past its record, so <see cref="Current"/> stays valid until the
/// next <see cref="MoveNextAsync"/> even where a source reuses its current object. Disposing the merger disposes
/// the sources.
/// <code>
/// await using var merge = new SortedMerger&lt;long&gt;([a.GetAsyncEnumerator(), b.GetAsyncEnumerator()]);
/// while (await merge.MoveNextAsync())
/// {
///     Console.WriteLine(merge.Current);
/// }
/// </code>
/// </remarks>
/// <typeparam name="T">The record type.</typeparam>
public sealed class SortedMerger<T> : IAsyncEnumerator<T>
{
    private readonly IAsyncEnumerator<T>[] _sources;
    private readonly IComparer<T>? _comparer;
    private readonly T[] _heads;
    private readonly long[] _counts;
    private readonly int[] _heap;
    private int _size;
    private int _advance = -1;
    private bool _started;

    /// <summary>Creates a merge of <paramref name="sources"/>, each sorted by <paramref name="comparer"/>.</summary>
    /// <param name="sources">The sorted streams, in the order that breaks ties; none started yet.</param>
    /// <param name="comparer">The order of every source; default <see cref="Comparer{T}.Default"/>.</param>
    public SortedMerger(IReadOnlyList<IAsyncEnumerator<T>> sources, IComparer<T>? comparer = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = [.. sources];

        // The default comparer is called directly, which the JIT devirtualizes for value types.
        _comparer = comparer == Comparer<T>.Default ? null : comparer;
        _heads = new T[sources.Count];
        _counts = new long[sources.Count];
        _heap = new int[sources.Count];
    }

    /// <summary>
    /// Check that every source is in order (one more comparison per record): a record that sorts before the one before
    /// it in its source throws <see cref="InvalidDataException"/> naming the source. Default <see langword="false"/>.
    /// </summary>
    public bool CheckOrder { get; init; }

    /// <summary>Names of the sources for <see cref="CheckOrder"/>'s errors (object keys, say); default "source i".</summary>
    public IReadOnlyList<string>? SourceNames { get; init; }

    /// <summary>The record the merge is at.</summary>
    public T Current { get; private set; } = default!;

    /// <summary>The index of the source <see cref="Current"/> came from.</summary>
    public int CurrentSource { get; private set; } = -1;

    /// <summary>Moves to the next record in order; <see langword="false"/> when every source is exhausted.</summary>
    /// <exception cref="InvalidDataException">With <see cref="CheckOrder"/>, a source is not in order.</exception>
    public ValueTask<bool> MoveNextAsync()
    {
        if (!_started)
        {
            return StartAsync();
        }

        if (_advance >= 0)
        {
            // Most records are in the source's buffer: no async state machine unless it has to read.
            var source = _advance;
            _advance = -1;
            var moved = _sources[source].MoveNextAsync();
            if (!moved.IsCompletedSuccessfully)
            {
                return AdvanceAsync(source, moved);
            }

            Advanced(source, moved.Result);
        }

        return new ValueTask<bool>(Top());
    }

    private async ValueTask<bool> StartAsync()
    {
        _started = true;
        for (var i = 0; i < _sources.Length; i++)
        {
            if (await _sources[i].MoveNextAsync().ConfigureAwait(false))
            {
                _heads[i] = _sources[i].Current;
                _counts[i] = 1;
                _heap[_size++] = i;
            }
        }

        for (var i = (_size / 2) - 1; i >= 0; i--)
        {
            SiftDown(i);
        }

        return Top();
    }

    private async ValueTask<bool> AdvanceAsync(int source, ValueTask<bool> moved)
    {
        Advanced(source, await moved.ConfigureAwait(false));
        return Top();
    }

    // Source `source`, whose record was the smallest (at the root), moved on: its next record takes the root's place.
    private void Advanced(int source, bool moved)
    {
        if (moved)
        {
            var next = _sources[source].Current;
            if (CheckOrder && Compare(next, _heads[source]) < 0)
            {
                throw new InvalidDataException(
                    $"{SourceName(source)} is not sorted: its record {_counts[source] + 1} ({next}) sorts before the record before it ({_heads[source]})");
            }

            _heads[source] = next;
            _counts[source]++;
        }
        else
        {
            // Exhausted: the last leaf takes the root's place.
            _heads[source] = default!;
            _heap[0] = _heap[--_size];
        }

        SiftDown(0);
    }

    private bool Top()
    {
        if (_size == 0)
        {
            Current = default!;
            CurrentSource = -1;
            return false;
        }

        CurrentSource = _advance = _heap[0];
        Current = _heads[_advance];
        return true;
    }

    /// <summary>Disposes every source.</summary>
    public async ValueTask DisposeAsync()
    {
        List<Exception>? errors = null;
        foreach (var source in _sources)
        {
            try
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                (errors ??= []).Add(ex);
            }
        }

        if (errors is not null)
        {
            throw errors.Count == 1 ? errors[0] : new AggregateException(errors);
        }
    }

    private string SourceName(int source) =>
        SourceNames is { } names && source < names.Count ? names[source] : $"source {source}";

    private int Compare(T a, T b) => _comparer is null ? Comparer<T>.Default.Compare(a, b) : _comparer.Compare(a, b);

    // Source a's head goes before source b's: smaller, or equal and from an earlier source.
    private bool Before(int a, int b)
    {
        var c = Compare(_heads[a], _heads[b]);
        return c < 0 || (c == 0 && a < b);
    }

    private void SiftDown(int position)
    {
        if (_size == 0)
        {
            return;
        }

        var item = _heap[position];
        while (true)
        {
            var child = (2 * position) + 1;
            if (child >= _size)
            {
                break;
            }

            if (child + 1 < _size && Before(_heap[child + 1], _heap[child]))
            {
                child++;
            }

            if (!Before(_heap[child], item))
            {
                break;
            }

            _heap[position] = _heap[child];
            position = child;
        }

        _heap[position] = item;
    }
}
