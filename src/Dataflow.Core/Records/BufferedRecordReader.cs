using System.Buffers;

namespace Dataflow.Core;

/// <summary>
/// What the record readers share: a pooled buffer filled from a stream, from which the subclass parses one record at
/// a time; a record longer than the buffer grows it.
/// </summary>
internal abstract class BufferedRecordReader : IAsyncDisposable
{
    /// <summary>A record longer than this fails the read rather than exhausting memory.</summary>
    public const int MaxRecordBytes = 64 << 20;

    private readonly Stream _stream;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;

    protected BufferedRecordReader(Stream stream, string name, int bufferSize)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        _stream = stream;
        Name = name;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    /// <summary>The name of what is read (an object key, a file), for errors.</summary>
    public string Name { get; }

    public virtual async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>
    /// Parses a record at the start of <paramref name="bytes"/>; <see langword="false"/> when they end before it does.
    /// At the end of the stream (<paramref name="atEnd"/>) the subclass either takes the rest as a record or throws.
    /// </summary>
    protected abstract bool TryParse(ReadOnlySpan<byte> bytes, bool atEnd, out int consumed);

    /// <summary>Reads the next record through <see cref="TryParse"/>; <see langword="false"/> at the end of the stream.</summary>
    protected ValueTask<bool> ReadNextAsync(CancellationToken cancellationToken)
    {
        // Most records are whole in the buffer: parse them without an async state machine.
        if (_start < _end && TryParse(_buffer.AsSpan(_start, _end - _start), _eof, out var consumed))
        {
            _start += consumed;
            return new ValueTask<bool>(true);
        }

        return _eof && _start == _end ? new ValueTask<bool>(false) : ReadNextSlowAsync(cancellationToken);
    }

    private async ValueTask<bool> ReadNextSlowAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_start < _end && TryParse(_buffer.AsSpan(_start, _end - _start), _eof, out var consumed))
            {
                _start += consumed;
                return true;
            }

            if (_eof)
            {
                return false;
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
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
            if (_buffer.Length >= MaxRecordBytes)
            {
                throw new InvalidDataException($"{Name} holds a record longer than {MaxRecordBytes >> 20} MiB");
            }

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
