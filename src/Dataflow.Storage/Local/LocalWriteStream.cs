namespace Dataflow.Storage;

/// <summary>Writes an object to a temporary file and renames it into place on completion.</summary>
internal sealed class LocalWriteStream : ObjectWriteStream
{
    private readonly LocalFolderStore _store;
    private readonly string _path;
    private readonly string _tempPath;
    private FileStream? _file;
    private bool _completed;

    public LocalWriteStream(LocalFolderStore store, string key, string path)
    {
        _store = store;
        Key = key;
        _path = path;
        _file = store.CreateTempFile(out _tempPath);
    }

    public override string Key { get; }

    public override bool CanWrite => _file is not null;

    public override void Write(byte[] buffer, int offset, int count) => File.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => File.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        File.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        File.WriteAsync(buffer, cancellationToken);

    public override void WriteByte(byte value) => File.WriteByte(value);

    /// <summary>
    /// Appends <paramref name="length"/> bytes of <paramref name="source"/> from <paramref name="offset"/> with a
    /// copy inside the kernel (<see cref="KernelCopy"/>).
    /// </summary>
    /// <returns>The bytes appended: <paramref name="length"/>, fewer when the source ended early, or 0 when the kernel cannot copy between these files (then nothing was).</returns>
    internal long CopyInKernel(Microsoft.Win32.SafeHandles.SafeFileHandle source, long offset, long length, CancellationToken cancellationToken)
    {
        var file = File;
        file.Flush();
        var end = file.Position;
        var copied = KernelCopy.Copy(source, offset, file.SafeFileHandle, end, length, out _, cancellationToken);

        // The kernel wrote at an explicit offset: the stream's position must follow, or the next write would land on it.
        file.Position = end + copied;
        return copied;
    }

    public override void Flush() => File.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => File.FlushAsync(cancellationToken);

    public override async ValueTask<ObjectInfo> CompleteAsync(CancellationToken cancellationToken = default)
    {
        var file = File;
        await file.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (_store.FlushToDisk)
        {
            file.Flush(flushToDisk: true);
        }

        await file.DisposeAsync().ConfigureAwait(false);
        _file = null;
        _store.MoveIntoPlace(_tempPath, _path, Key);
        _completed = true;
        return LocalFolderStore.Describe(Key, new FileInfo(_path));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Abort();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_file is { } file)
        {
            _file = null;
            await file.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    private FileStream File => _file ?? throw new ObjectDisposedException(nameof(LocalWriteStream), _completed
        ? $"object '{Key}' is already complete"
        : $"the write of object '{Key}' was abandoned");

    private void Abort()
    {
        _file?.Dispose();
        _file = null;
        if (!_completed)
        {
            try
            {
                System.IO.File.Delete(_tempPath);
            }
            catch (IOException)
            {
                // Best effort: a leftover temporary file is invisible to readers and listings.
            }
        }
    }
}
