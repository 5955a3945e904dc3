namespace Dataflow.Core;

/// <summary>
/// Writes a sorted run: records of <c>varint key length, key bytes, varint value length, value bytes</c>, buffered
/// and flushed to the stream in blocks (<see cref="FramedWriter"/>).
/// </summary>
internal sealed class SortedRunWriter<TKey, TValue>
{
    private readonly FramedWriter _framed;
    private readonly RecordCodec<TKey> _keys;
    private readonly RecordCodec<TValue> _values;

    public SortedRunWriter(Stream stream, RecordCodec<TKey> keys, RecordCodec<TValue> values)
    {
        _framed = new FramedWriter(stream);
        _keys = keys;
        _values = values;
    }

    /// <summary>Bytes written so far, flushed or not.</summary>
    public long Position => _framed.Position;

    public void Write(TKey key, TValue value)
    {
        _framed.Write(_keys, key);
        _framed.Write(_values, value);
        if (_framed.IsFull)
        {
            _framed.Flush();
        }
    }

    public async ValueTask WriteAsync(TKey key, TValue value, CancellationToken cancellationToken)
    {
        _framed.Write(_keys, key);
        _framed.Write(_values, value);
        if (_framed.IsFull)
        {
            await _framed.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Flush() => _framed.Flush();

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _framed.FlushAsync(cancellationToken);
}

/// <summary>
/// Reads a run written by <see cref="SortedRunWriter{TKey, TValue}"/>, record by record, from a stream; as an
/// enumerator (for <see cref="SortedMerger{T}"/>) it reads with the token it was created with.
/// </summary>
internal sealed class SortedRunReader<TKey, TValue> : BufferedRecordReader, IAsyncEnumerator<KeyValuePair<TKey, TValue>>
{
    private readonly RecordCodec<TKey> _keys;
    private readonly RecordCodec<TValue> _values;
    private readonly CancellationToken _cancellationToken;

    public SortedRunReader(Stream stream, RecordCodec<TKey> keys, RecordCodec<TValue> values, string name, int bufferSize = 64 * 1024, CancellationToken cancellationToken = default)
        : base(stream, name, bufferSize)
    {
        _keys = keys;
        _values = values;
        _cancellationToken = cancellationToken;
    }

    public TKey Key { get; private set; } = default!;

    public TValue Value { get; private set; } = default!;

    public KeyValuePair<TKey, TValue> Current => new(Key, Value);

    public ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken) => ReadNextAsync(cancellationToken);

    public ValueTask<bool> MoveNextAsync() => ReadNextAsync(_cancellationToken);

    protected override bool TryParse(ReadOnlySpan<byte> bytes, bool atEnd, out int consumed)
    {
        if (FramedWriter.TryReadField(bytes, out var key, out var n)
            && FramedWriter.TryReadField(bytes[n..], out var value, out var m))
        {
            Key = _keys.Read(key);
            Value = _values.Read(value);
            consumed = n + m;
            return true;
        }

        consumed = 0;
        return atEnd ? throw new InvalidDataException($"run {Name} ends in the middle of a record") : false;
    }
}

/// <summary>
/// Merges sorted runs into one key order (a <see cref="SortedMerger{T}"/> over the runs, by key), grouping the
/// values of equal keys; with a combiner each group is folded into one value as it is read.
/// </summary>
internal sealed class SortedRunMerger<TKey, TValue> : IAsyncDisposable
    where TKey : notnull
{
    private readonly SortedMerger<KeyValuePair<TKey, TValue>> _merger;
    private readonly IComparer<TKey> _comparer;
    private readonly ICombiner<TValue>? _combiner;
    private bool _started;
    private bool _exhausted;

    public SortedRunMerger(List<SortedRunReader<TKey, TValue>> readers, IComparer<TKey> comparer, ICombiner<TValue>? combiner)
    {
        _comparer = comparer;
        _combiner = combiner;

        // Ties between equal keys break on the reader's index (the merger's order), so the merge is the same every time.
        _merger = new SortedMerger<KeyValuePair<TKey, TValue>>(readers, new ByKey(comparer));
    }

    public TKey Key { get; private set; } = default!;

    /// <summary>The values of <see cref="Key"/>: one, folded, with a combiner.</summary>
    public List<TValue> Values { get; } = [];

    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_started)
        {
            _started = true;
            _exhausted = !await _merger.MoveNextAsync().ConfigureAwait(false);
        }

        if (_exhausted)
        {
            return false;
        }

        // The merger stands on the first record of this group; read until it stands on the next group's.
        Key = _merger.Current.Key;
        Values.Clear();
        Values.Add(_merger.Current.Value);
        while (true)
        {
            if (!await _merger.MoveNextAsync().ConfigureAwait(false))
            {
                _exhausted = true;
                break;
            }

            var (key, value) = _merger.Current;
            if (_comparer.Compare(key, Key) != 0)
            {
                break;
            }

            if (_combiner is not null)
            {
                Values[0] = _combiner.Combine(Values[0], value);
            }
            else
            {
                Values.Add(value);
            }
        }

        return true;
    }

    public ValueTask DisposeAsync() => _merger.DisposeAsync();

    private sealed class ByKey(IComparer<TKey> keys) : IComparer<KeyValuePair<TKey, TValue>>
    {
        public int Compare(KeyValuePair<TKey, TValue> x, KeyValuePair<TKey, TValue> y) => keys.Compare(x.Key, y.Key);
    }
}
