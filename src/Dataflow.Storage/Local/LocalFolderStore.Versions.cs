using System.Text;
using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>
/// Versions and limits of the folder store: a segment of one version is read from the opened file only if that
/// file's own modification time and size (one <c>fstat</c> of the handle) still give the tag, so a file replaced
/// between a listing and the open is refused; keys are checked against the file system's name and path limits.
/// </summary>
internal sealed partial class LocalFolderStore
{
    /// <summary>The longest file or folder name, in bytes (Linux NAME_MAX).</summary>
    internal const int NameMax = 255;

    /// <summary>The longest path with its terminating NUL, in bytes (Linux PATH_MAX).</summary>
    internal const int PathMax = 4096;

    public ValueTask<Stream> OpenSegmentAsync(ObjectSegment segment, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("open_read", Kind, segment.Key);
        StoreRequests.Count(StoreRequestKind.Get);
        segment.Validate();
        var path = PathOfObject(segment.Key);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(OpenRange(segment.Key, path, segment.Offset, segment.Length, segment.ETag));
    }

    public ValueTask<string?> GetIdentityAsync(string key, CancellationToken cancellationToken = default)
    {
        StoreRequests.Count(StoreRequestKind.Head);
        var path = PathOfObject(key);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return ValueTask.FromResult(FileIdentity.Of(path));
        }
        catch (IOException ex)
        {
            throw new ObjectStoreException(Location, key, ex.Message, ex);
        }
    }

    public string? CheckKey(string key)
    {
        string path;
        try
        {
            path = PathOfObject(key);
        }
        catch (InvalidObjectKeyException ex)
        {
            return ex.Message;
        }

        foreach (var name in key.Split('/'))
        {
            if (Encoding.UTF8.GetByteCount(name) is var bytes and > NameMax)
            {
                return $"the key '{key}' cannot be a file in the folder store {Location}: one of its names is {bytes} UTF-8 bytes long, over the file system's limit of {NameMax} (NAME_MAX)";
            }
        }

        if (Encoding.UTF8.GetByteCount(path) is var length and >= PathMax)
        {
            return $"the key '{key}' cannot be a file in the folder store {Location}: its path would be {length} UTF-8 bytes long, over the file system's limit of {PathMax - 1} (PATH_MAX)";
        }

        return null;
    }

    /// <summary>
    /// Opens <paramref name="length"/> bytes (to the end when <see langword="null"/>) of the file at
    /// <paramref name="path"/> from <paramref name="offset"/>, of the version <paramref name="etag"/> only when given.
    /// </summary>
    private Stream OpenRange(string key, string path, long offset, long? length, string? etag)
    {
        var stream = OpenSource(key, path);
        try
        {
            CheckVersion(key, etag, stream);
            var size = stream.Length;
            var count = length ?? size - offset;
            CheckRange(key, size, offset, count);
            if (offset == 0 && count == size)
            {
                return stream;
            }

            stream.Position = offset;
            return new RangeReadStream(stream, count);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Throws <see cref="ObjectChangedException"/> when <paramref name="expected"/> is given and the opened file has another tag.</summary>
    private void CheckVersion(string key, string? expected, FileStream opened)
    {
        if (expected is null)
        {
            return;
        }

        var handle = opened.SafeFileHandle;
        var actual = EntityTag.OfFile(File.GetLastWriteTimeUtc(handle), RandomAccess.GetLength(handle));
        if (!EntityTag.Matches(expected, actual))
        {
            throw new ObjectChangedException(Location, key, expected, actual);
        }
    }
}
