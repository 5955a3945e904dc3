namespace Dataflow.Storage;

/// <summary>
/// A write-only stream that becomes an object only when <see cref="CompleteAsync"/> succeeds. Disposing it
/// before that discards everything written; nothing half-written is ever visible.
/// </summary>
public abstract class ObjectWriteStream : Stream
{
    /// <summary>The key the object will have.</summary>
    public abstract string Key { get; }

    /// <summary>Makes the object visible under <see cref="Key"/>, replacing any object there, and describes it.</summary>
    public abstract ValueTask<ObjectInfo> CompleteAsync(CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public sealed override bool CanRead => false;

    /// <inheritdoc />
    public sealed override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public sealed override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public sealed override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public sealed override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public sealed override void SetLength(long value) => throw new NotSupportedException();
}
