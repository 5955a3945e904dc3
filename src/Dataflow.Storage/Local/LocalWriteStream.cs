using Microsoft.Win32.SafeHandles;

namespace Dataflow.Storage;

/// <summary>
/// Writes an object to a temporary file and renames it into place on completion. A write, flush or completion that
/// fails (a full disk, a cancellation) deletes the temporary file at once: nothing of a failed write is left behind,
/// and the stream cannot be used any more.
/// </summary>
internal sealed class LocalWriteStream : ObjectWriteStream
{
    private readonly LocalFolderStore _store;
    private readonly string _path;
    private readonly string _tempPath;
    private FileStream? _file;
    private bool _completed;
    private bool _failed;

    public LocalWriteStream(LocalFolderStore store, string key, string path)
    {
        _store = store;
        Key = key;
        _path = path;
        _file = store.CreateTempFile(out _tempPath);
    }

    public override string Key { get; }

    public override bool CanWrite => _file is not null;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var file = File;
        try
        {
            file.Write(buffer);
        }
        catch
        {
            Fail();
            throw;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var file = File;
        ValueTask write;
        try
        {
            write = file.WriteAsync(buffer, cancellationToken);
        }
        catch
        {
            Fail();
            throw;
        }

        // Most writes only fill the buffer and are done already: no state machine for them.
        return write.IsCompletedSuccessfully ? write : WatchAsync(write);
    }

    public override void WriteByte(byte value)
    {
        var file = File;
        try
        {
            file.WriteByte(value);
        }
        catch
        {
            Fail();
            throw;
        }
    }

    /// <summary>
    /// Appends <paramref name="length"/> bytes of <paramref name="source"/> from <paramref name="offset"/> with a
    /// copy inside the kernel (<see cref="KernelCopy"/>).
    /// </summary>
    /// <returns>The bytes appended: <paramref name="length"/>, fewer when the source ended early, or 0 when the kernel cannot copy between these files (then nothing was).</returns>
    internal long CopyInKernel(SafeFileHandle source, long offset, long length, CancellationToken cancellationToken)
    {
        var file = File;
        try
        {
            file.Flush();
            var end = file.Position;
            var copied = KernelCopy.Copy(source, offset, file.SafeFileHandle, end, length, out _, cancellationToken);

            // The kernel wrote at an explicit offset: the stream's position must follow, or the next write would land on it.
            file.Position = end + copied;
            return copied;
        }
        catch
        {
            Fail();
            throw;
        }
    }

    public override void Flush()
    {
        var file = File;
        try
        {
            file.Flush();
        }
        catch
        {
            Fail();
            throw;
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => WatchAsync(new ValueTask(File.FlushAsync(cancellationToken))).AsTask();

    public override async ValueTask<ObjectInfo> CompleteAsync(CancellationToken cancellationToken = default)
    {
        var file = File;
        try
        {
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (_store.FlushToDisk)
            {
                file.Flush(flushToDisk: true);
            }

            // Described from the file itself, before the rename (which keeps its time): the tag of these bytes, even
            // should another writer replace the object right after.
            var info = LocalFolderStore.Describe(Key, System.IO.File.GetLastWriteTimeUtc(file.SafeFileHandle), file.Position);
            await file.DisposeAsync().ConfigureAwait(false);
            _file = null;
            _store.MoveIntoPlace(_tempPath, _path, Key);
            _completed = true;
            return info;
        }
        catch
        {
            Fail();
            throw;
        }
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
        // Nothing is flushed: what was written is discarded (a completed write has closed its file already).
        Abort();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private FileStream File => _file ?? throw new ObjectDisposedException(nameof(LocalWriteStream), _completed
        ? $"object '{Key}' is already complete"
        : _failed ? $"the write of object '{Key}' failed" : $"the write of object '{Key}' was abandoned");

    private async ValueTask WatchAsync(ValueTask pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch
        {
            Fail();
            throw;
        }
    }

    /// <summary>A write failed: its temporary file goes at once.</summary>
    private void Fail()
    {
        _failed = true;
        Abort();
    }

    /// <summary>Closes the temporary file without keeping it (unless the object is complete); never throws.</summary>
    private void Abort()
    {
        if (_file is { } file)
        {
            _file = null;
            try
            {
                // Closing flushes what is buffered, which fails again on a full disk: the file goes all the same.
                file.Dispose();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
            }
        }

        if (!_completed)
        {
            try
            {
                System.IO.File.Delete(_tempPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: a leftover temporary file is invisible to readers and listings, and its owner's name
                // lets RemoveLeftoversAsync delete it once this process is gone.
            }
        }
    }
}
