using System.Buffers;

namespace Dataflow.Core;

/// <summary>
/// Writes a sorted run: records of <c>varint key length, key bytes, varint value length, value bytes</c>, buffered
/// and flushed to the stream in blocks.
/// </summary>
internal sealed class SortedRunWriter<TKey, TValue>
{
    private const int FlushAt = 64 * 1024;

    private readonly Stream _stream;
    private readonly RecordCodec<TKey> _keys;
    private readonly RecordCodec<TValue> _values;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushAt * 2);
    private readonly ArrayBufferWriter<byte> _scratch = new(256);

    public SortedRunWriter(Stream stream, RecordCodec<TKey> keys, RecordCodec<TValue> values)
    {
        _stream = stream;
        _keys = keys;
        _values = values;
    }

    /// <summary>Bytes written so far, flushed or not.</summary>
    public long Position { get; private set; }

    public void Write(TKey key, TValue value)
    {
        WriteFramed(_keys, key);
        WriteFramed(_values, value);
        if (_buffer.WrittenCount >= FlushAt)
        {
            Flush();
        }
    }

    public async ValueTask WriteAsync(TKey key, TValue value, CancellationToken cancellationToken)
    {
        WriteFramed(_keys, key);
        WriteFramed(_values, value);
        if (_buffer.WrittenCount >= FlushAt)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Flush()
    {
        _stream.Write(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        _buffer.ResetWrittenCount();
    }

    private void WriteFramed<T>(RecordCodec<T> codec, T value)
    {
        _scratch.ResetWrittenCount();
        codec.Write(value, _scratch);
        var before = _buffer.WrittenCount;
        RecordCodecs.WriteVarint(_buffer, (ulong)_scratch.WrittenCount);
        _buffer.Write(_scratch.WrittenSpan);
        Position += _buffer.WrittenCount - before;
    }
}

/// <summary>Reads a run written by <see cref="SortedRunWriter{TKey, TValue}"/>, record by record, from a stream.</summary>
internal sealed class SortedRunReader<TKey, TValue> : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly RecordCodec<TKey> _keys;
    private readonly RecordCodec<TValue> _values;
    private readonly string _name;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;

    public SortedRunReader(Stream stream, RecordCodec<TKey> keys, RecordCodec<TValue> values, string name, int bufferSize = 64 * 1024)
    {
        _stream = stream;
        _keys = keys;
        _values = values;
        _name = name;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    public TKey Key { get; private set; } = default!;

    public TValue Value { get; private set; } = default!;

    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryParse())
            {
                return true;
            }

            if (_eof)
            {
                if (_start != _end)
                {
                    throw new InvalidDataException($"run {_name} ends in the middle of a record");
                }

                return false;
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private bool TryParse()
    {
        var span = _buffer.AsSpan(_start, _end - _start);
        var n = RecordCodecs.ReadVarint(span, out var keyLength);
        if (n == 0 || span.Length - n < (long)keyLength)
        {
            return false;
        }

        var keyBytes = span.Slice(n, (int)keyLength);
        var rest = span[(n + (int)keyLength)..];
        var m = RecordCodecs.ReadVarint(rest, out var valueLength);
        if (m == 0 || rest.Length - m < (long)valueLength)
        {
            return false;
        }

        Key = _keys.Read(keyBytes);
        Value = _values.Read(rest.Slice(m, (int)valueLength));
        _start += n + (int)keyLength + m + (int)valueLength;
        return true;
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            // A record larger than the buffer: grow it.
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, 0, larger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }
}

/// <summary>
/// Merges sorted runs into one key order (a k-way merge over a priority queue), grouping the values of equal keys;
/// with a combiner each group is folded into one value as it is read.
/// </summary>
internal sealed class SortedRunMerger<TKey, TValue> : IAsyncDisposable
    where TKey : notnull
{
    private readonly List<SortedRunReader<TKey, TValue>> _readers;
    private readonly IComparer<TKey> _comparer;
    private readonly ICombiner<TValue>? _combiner;
    private readonly PriorityQueue<int, (TKey Key, int Reader)> _queue;
    private bool _started;

    public SortedRunMerger(List<SortedRunReader<TKey, TValue>> readers, IComparer<TKey> comparer, ICombiner<TValue>? combiner)
    {
        _readers = readers;
        _comparer = comparer;
        _combiner = combiner;

        // Ties between equal keys break on the reader's index, so the merge is the same every time.
        _queue = new PriorityQueue<int, (TKey Key, int Reader)>(Comparer<(TKey Key, int Reader)>.Create((a, b) =>
        {
            var c = comparer.Compare(a.Key, b.Key);
            return c != 0 ? c : a.Reader.CompareTo(b.Reader);
        }));
    }

    public TKey Key { get; private set; } = default!;

    /// <summary>The values of <see cref="Key"/>: one, folded, with a combiner.</summary>
    public List<TValue> Values { get; } = [];

    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            _started = true;
            for (var i = 0; i < _readers.Count; i++)
            {
                if (await _readers[i].MoveNextAsync(cancellationToken).ConfigureAwait(false))
                {
                    _queue.Enqueue(i, (_readers[i].Key, i));
                }
            }
        }

        if (!_queue.TryPeek(out _, out var first))
        {
            return false;
        }

        Key = first.Key;
        Values.Clear();
        while (_queue.TryPeek(out var index, out var head) && _comparer.Compare(head.Key, Key) == 0)
        {
            _queue.Dequeue();
            var reader = _readers[index];
            if (_combiner is not null && Values.Count == 1)
            {
                Values[0] = _combiner.Combine(Values[0], reader.Value);
            }
            else
            {
                Values.Add(reader.Value);
            }

            if (await reader.MoveNextAsync(cancellationToken).ConfigureAwait(false))
            {
                _queue.Enqueue(index, (reader.Key, index));
            }
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var reader in _readers)
        {
            await reader.DisposeAsync().ConfigureAwait(false);
        }
    }
}
