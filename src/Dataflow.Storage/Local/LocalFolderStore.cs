using System.Buffers;
using System.Runtime.CompilerServices;
using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>
/// A folder on the local file system as an object store: the embedded default. Keys map to relative paths; writes
/// go to a temporary file in <c>.dataflow-tmp/</c> under the root and are renamed into place when complete, so a
/// crash never leaves a half-written object visible. An object's entity tag is its file's modification time and size
/// (see <see cref="EntityTag.OfFile"/>).
/// </summary>
internal sealed partial class LocalFolderStore : IObjectStore
{
    /// <summary>The folder, directly under the root, that holds objects being written. Not listed; keys may not start with it.</summary>
    internal const string TempFolderName = ".dataflow-tmp";

    private const int MoveAttempts = 5;

    private readonly string _root;
    private readonly string _tempFolder;
    private readonly LocalFolderStoreOptions _options;

    public LocalFolderStore(string path, LocalFolderStoreOptions options)
    {
        options.Validate();
        _options = options;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (File.Exists(_root))
        {
            throw new ArgumentException($"store path '{_root}' is a file, not a folder", nameof(path));
        }

        try
        {
            Directory.CreateDirectory(_root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"store folder '{_root}' cannot be created: {ex.Message}", nameof(path), ex);
        }

        _tempFolder = Path.Combine(_root, TempFolderName);
        Location = new Uri(_root + Path.DirectorySeparatorChar).AbsoluteUri;
    }

    public string Location { get; }

    /// <summary>The folder's absolute path.</summary>
    public string RootPath => _root;

    public string GetUri(string key)
    {
        ObjectKey.Validate(key);
        return Location + string.Join('/', key.Split('/').Select(Uri.EscapeDataString));
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("list", Kind, prefix);
        StoreRequests.Count(StoreRequestKind.List);
        ObjectKey.ValidatePrefix(prefix);
        if (prefix.StartsWith(TempFolderName + "/", StringComparison.Ordinal))
        {
            // Objects being written are not objects yet; no key under the temporary folder is valid here.
            yield break;
        }

        var slash = prefix.LastIndexOf('/');
        var folderKey = prefix[..(slash + 1)];
        var folder = folderKey.Length == 0 ? _root : PathOf(folderKey[..^1]);
        foreach (var info in Walk(folder, folderKey, prefix[(slash + 1)..]))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public ValueTask<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("head", Kind, key);
        StoreRequests.Count(StoreRequestKind.Head);
        var path = PathOfObject(key);
        cancellationToken.ThrowIfCancellationRequested();
        var file = new FileInfo(path);
        return ValueTask.FromResult(file.Exists ? Describe(key, file) : null);
    }

    public ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("open_read", Kind, key);
        StoreRequests.Count(StoreRequestKind.Get);
        var path = PathOfObject(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "the length may not be negative");
        }

        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(OpenRange(key, path, offset, length, null));
    }

    public ValueTask<ObjectWriteStream> OpenWriteAsync(string key, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("open_write", Kind, key);
        StoreRequests.Count(StoreRequestKind.Put);
        var path = PathOfObject(key);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<ObjectWriteStream>(new LocalWriteStream(this, key, path));
    }

    public ValueTask<int> DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);

        // Every key is validated before anything is deleted: a batch with an invalid key deletes nothing.
        var targets = keys.Select(key => (Key: key, Path: PathOfObject(key))).ToList();
        using var span = ObjectStoreTracing.Start("delete", Kind, targets.Count == 0 ? "" : targets[0].Key, targets.Count);
        StoreRequests.Count(StoreRequestKind.Delete);
        var deleted = 0;
        foreach (var (key, path) in targets)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (File.Exists(path))
                {
                    File.Delete(path);
                    deleted++;
                    PruneEmptyFolders(Path.GetDirectoryName(path)!);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ObjectStoreException(Location, key, $"cannot delete ({ex.Message})", ex);
            }
        }

        return ValueTask.FromResult(deleted);
    }

    public async ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default)
    {
        var destination = PathOfObject(destinationKey);
        ArgumentNullException.ThrowIfNull(sources);
        using var span = ObjectStoreTracing.Start("compose", Kind, destinationKey, sources.Count);
        StoreRequests.Count(StoreRequestKind.Copy);
        var paths = new string[sources.Count];
        for (var i = 0; i < sources.Count; i++)
        {
            sources[i].Validate();
            paths[i] = PathOfObject(sources[i].Key);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(_options.CopyBufferSize);
        var writer = new LocalWriteStream(this, destinationKey, destination);
        await using (writer.ConfigureAwait(false))
        {
            try
            {
                for (var i = 0; i < sources.Count; i++)
                {
                    var source = sources[i];
                    var stream = OpenSource(source.Key, paths[i]);
                    await using (stream.ConfigureAwait(false))
                    {
                        // The opened file is checked, not its path: a file replaced since the tag was taken is refused.
                        CheckVersion(source.Key, source.ETag, stream);
                        CheckRange(source.Key, stream.Length, source.Offset, source.Length);
                        var left = source.Length;
                        if (left > 0 && writer.CopyInKernel(stream.SafeFileHandle, source.Offset, left, cancellationToken) is var copied and > 0)
                        {
                            if (copied < left)
                            {
                                throw new ObjectStoreException(Location, source.Key, "the object shrank while it was being read");
                            }

                            continue;
                        }

                        stream.Position = source.Offset;
                        while (left > 0)
                        {
                            var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                            if (n == 0)
                            {
                                throw new ObjectStoreException(Location, source.Key, "the object shrank while it was being read");
                            }

                            await writer.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                            left -= n;
                        }
                    }
                }

                return await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private const string Kind = "folder";

    internal bool FlushToDisk => _options.FlushToDisk;

    /// <summary>Renames a complete file into place, replacing what is there.</summary>
    internal void MoveIntoPlace(string from, string to, string key)
    {
        // The rename is tried first: the destination's folder is usually there, and making it every time costs a
        // failing mkdir per object. When it is missing it is made and the rename tried again; another writer's delete
        // may prune that (empty) folder in between, so this is retried a few times.
        var madeFolder = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                File.Move(from, to, overwrite: true);
                if (FlushToDisk)
                {
                    FlushNames(to, key, madeFolder);
                }

                return;
            }
            catch (IOException ex) when (attempt < MoveAttempts && ex is DirectoryNotFoundException or FileNotFoundException)
            {
                // rename(2) said ENOENT, which .NET reports as a file or a folder not found: the destination's folder
                // is missing (or was, until another writer made it just now). Making it again does no harm.
                CreateFolderOf(to, key);
                madeFolder = true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ObjectStoreException(Location, key, $"cannot write ({ex.Message})", ex);
            }
        }
    }

    private void CreateFolderOf(string path, string key)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException(Location, key, $"cannot write ({ex.Message})", ex);
        }
    }

    internal static ObjectInfo Describe(string key, FileInfo file)
    {
        // A symbolic link is described by the file it leads to, which is what reads see (and what a version check of
        // the opened file compares with); the link's own time and size are not the object's.
        if ((file.Attributes & FileAttributes.ReparsePoint) != 0 && file.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true } target)
        {
            file = target;
        }

        return Describe(key, file.LastWriteTimeUtc, file.Length);
    }

    internal static ObjectInfo Describe(string key, DateTime lastWriteTimeUtc, long size) =>
        new(key, size, new DateTimeOffset(lastWriteTimeUtc, TimeSpan.Zero), EntityTag.OfFile(lastWriteTimeUtc, size));

    private FileStream OpenSource(string key, string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 16 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException
                                   || (ex is UnauthorizedAccessException && Directory.Exists(path)))
        {
            throw new ObjectNotFoundException(Location, key, ex);
        }
    }

    private void CheckRange(string key, long size, long offset, long length)
    {
        if (offset > size || length > size - offset)
        {
            throw new ObjectStoreException(Location, key, $"bytes {offset} to {offset + length} lie beyond the end of the {size}-byte object");
        }
    }

    private string PathOfObject(string key)
    {
        ObjectKey.Validate(key);
        if (key.StartsWith(TempFolderName + "/", StringComparison.Ordinal) || key == TempFolderName)
        {
            throw new InvalidObjectKeyException(key, $"'{TempFolderName}/' is reserved by the folder store for objects being written");
        }

        return PathOf(key);
    }

    private string PathOf(string validKey) =>
        Path.Join(_root, Path.DirectorySeparatorChar == '/' ? validKey : validKey.Replace('/', Path.DirectorySeparatorChar));

    private static IEnumerable<ObjectInfo> Walk(string folder, string keyPrefix, string namePrefix)
    {
        FileSystemInfo[] entries;
        try
        {
            entries = EntriesNamed(folder, namePrefix);
        }
        catch (DirectoryNotFoundException)
        {
            yield break;
        }

        var atRoot = keyPrefix.Length == 0;
        var sorted = new List<(string SortKey, FileSystemInfo Entry)>(entries.Length);
        foreach (var entry in entries)
        {
            if (!entry.Name.StartsWith(namePrefix, StringComparison.Ordinal)
                || (atRoot && entry.Name == TempFolderName)
                || entry is DirectoryInfo && entry.LinkTarget is not null
                || !ObjectKey.IsValid(keyPrefix + entry.Name))
            {
                continue;
            }

            sorted.Add((entry is DirectoryInfo ? entry.Name + "/" : entry.Name, entry));
        }

        // A folder's keys all start with "name/", so sorting folders as "name/" among file names gives key order.
        sorted.Sort((a, b) => KeyComparer.Instance.Compare(a.SortKey, b.SortKey));
        foreach (var (_, entry) in sorted)
        {
            if (entry is DirectoryInfo directory)
            {
                foreach (var info in Walk(directory.FullName, keyPrefix + entry.Name + "/", string.Empty))
                {
                    yield return info;
                }
            }
            else if (entry is FileInfo file)
            {
                yield return Describe(keyPrefix + entry.Name, file);
            }
        }
    }

    private void PruneEmptyFolders(string folder)
    {
        // Folders exist only to hold objects; like S3, a prefix with no objects should leave nothing behind.
        while (folder.Length > _root.Length && folder.StartsWith(_root, StringComparison.Ordinal))
        {
            try
            {
                Directory.Delete(folder, recursive: false);
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (IOException)
            {
                return;
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }

            folder = Path.GetDirectoryName(folder)!;
        }
    }
}
