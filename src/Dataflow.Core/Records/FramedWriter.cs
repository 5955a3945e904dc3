using System.Buffers;

namespace Dataflow.Core;

/// <summary>
/// The framing of the binary record format: every field is <c>varint length, the codec's bytes</c> (a map-reduce run's
/// record is a framed key and a framed value; a typed tree's record is one framed value). Fields are buffered and
/// written to the stream in blocks.
/// </summary>
internal sealed class FramedWriter
{
    // Blocks of 32 KiB in a buffer below the large object heap's 85,000 bytes: a writer per task must not cost a
    // large-object allocation (and, in time, a gen-2 collection) per task.
    private const int FlushAt = 32 * 1024;

    private readonly Stream _stream;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushAt * 2);
    private readonly ArrayBufferWriter<byte> _scratch = new(256);

    public FramedWriter(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
    }

    /// <summary>Bytes written so far, flushed or not.</summary>
    public long Position { get; private set; }

    /// <summary>Whether enough is buffered to write a block.</summary>
    public bool IsFull => _buffer.WrittenCount >= FlushAt;

    public void Write<T>(RecordCodec<T> codec, T value)
    {
        _scratch.ResetWrittenCount();
        codec.Write(value, _scratch);
        var before = _buffer.WrittenCount;
        RecordCodecs.WriteVarint(_buffer, (ulong)_scratch.WrittenCount);
        _buffer.Write(_scratch.WrittenSpan);
        Position += _buffer.WrittenCount - before;
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

    /// <summary>
    /// Finds one framed field at the start of <paramref name="bytes"/>: its bytes, and the bytes its frame takes;
    /// <see langword="false"/> when <paramref name="bytes"/> end before it does.
    /// </summary>
    public static bool TryReadField(ReadOnlySpan<byte> bytes, out ReadOnlySpan<byte> field, out int consumed)
    {
        var n = RecordCodecs.ReadVarint(bytes, out var length);
        if (n == 0 || bytes.Length - n < (long)length)
        {
            field = default;
            consumed = 0;
            return false;
        }

        field = bytes.Slice(n, (int)length);
        consumed = n + (int)length;
        return true;
    }
}
