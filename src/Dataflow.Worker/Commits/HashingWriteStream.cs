using System.IO.Hashing;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The stream an operator writes an output to: passes bytes to the store's writer, counting and hashing them.
/// Disposing it only closes it for the operator; the task runner completes or aborts the underlying writer.
/// </summary>
internal sealed class HashingWriteStream : Stream
{
    private readonly ObjectWriteStream _writer;
    private readonly RunCounters _counters;
    private readonly XxHash3 _hash = new();
    private bool _closed;

    public HashingWriteStream(ObjectWriteStream writer, RunCounters counters)
    {
        _writer = writer;
        _counters = counters;
    }

    public ObjectWriteStream Writer => _writer;

    public long BytesWritten { get; private set; }

    public string Checksum => Checksums.Format(_hash);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_closed;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesWritten;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfClosed();
        _writer.Write(buffer);
        Account(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await _writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        Account(buffer.Span);
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        _closed = true;
        base.Dispose(disposing);
    }

    private void Account(ReadOnlySpan<byte> buffer)
    {
        _hash.Append(buffer);
        BytesWritten += buffer.Length;
        _counters.AddWritten(buffer.Length);
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);
}
