namespace Dataflow;

/// <summary>A read-only view of the next <c>length</c> bytes of a stream; owns the inner stream.</summary>
internal sealed class RangeReadStream : ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly long _length;
    private long _left;

    public RangeReadStream(Stream inner, long length)
    {
        _inner = inner;
        _length = length;
        _left = length;
    }

    public override long Length => _length;

    public override long Position
    {
        get => _length - _left;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer)
    {
        if (_left == 0)
        {
            return 0;
        }

        var n = _inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
        _left -= n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_left == 0)
        {
            return 0;
        }

        var n = await _inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
        _left -= n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
