using System.Runtime.InteropServices;

namespace Dataflow.Storage;

/// <summary>The folder store's create-if-absent: a complete temporary file hard-linked into place.</summary>
internal sealed partial class LocalFolderStore : IAtomicCreateStore
{
    private const int EEXIST = 17;
    private const int ENOENT = 2;

    public async ValueTask<bool> TryCreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("create", Kind, key);
        StoreRequests.Count(StoreRequestKind.Put);
        var path = PathOfObject(key);
        string temp;
        await using (var file = CreateTempFile(out temp))
        {
            await file.WriteAsync(content, cancellationToken).ConfigureAwait(false);
            if (FlushToDisk)
            {
                file.Flush(flushToDisk: true);
            }
        }

        try
        {
            return LinkIntoPlace(temp, path, key);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// Gives the complete file <paramref name="from"/> the name <paramref name="to"/> unless that name is taken:
    /// <c>link(2)</c>, which fails with EEXIST rather than replace (on Windows, a move without replacing).
    /// </summary>
    private bool LinkIntoPlace(string from, string to, string key)
    {
        var madeFolder = false;
        for (var attempt = 1; ; attempt++)
        {
            if (OperatingSystem.IsWindows())
            {
                try
                {
                    File.Move(from, to, overwrite: false);
                    return true;
                }
                catch (IOException) when (File.Exists(to))
                {
                    return false;
                }
                catch (DirectoryNotFoundException) when (attempt < MoveAttempts)
                {
                    CreateFolderOf(to, key);
                    continue;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new ObjectStoreException(Location, key, $"cannot write ({ex.Message})", ex);
                }
            }

            if (Link(from, to) == 0)
            {
                if (FlushToDisk)
                {
                    FlushNames(to, key, madeFolder);
                }

                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == EEXIST)
            {
                return false;
            }

            if (errno == ENOENT && attempt < MoveAttempts && File.Exists(from))
            {
                CreateFolderOf(to, key);
                madeFolder = true;
                continue;
            }

            throw new ObjectStoreException(Location, key, $"cannot write ({Marshal.GetPInvokeErrorMessage(errno)})");
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string created);
}
