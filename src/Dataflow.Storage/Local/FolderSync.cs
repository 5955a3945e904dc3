using System.Runtime.InteropServices;

namespace Dataflow.Storage;

/// <summary>
/// Flushes a folder's entries to the disk (<c>fsync</c> of the folder): after a file is renamed or linked into a
/// folder, the new name survives a power cut only once the folder itself is flushed. Unix only; on Windows the
/// rename of a flushed file is not made durable this way, and nothing is done.
/// </summary>
internal static partial class FolderSync
{
    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000;
    private const int O_CLOEXEC = 0x80000;
    private const int EINTR = 4;

    /// <summary>Flushes <paramref name="folder"/>'s entries; an <see cref="IOException"/> names the folder and why when it cannot.</summary>
    public static void Flush(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // O_DIRECTORY has this value on x86-64 and arm64 Linux; other Unixes are opened without it.
        var flags = O_RDONLY | (OperatingSystem.IsLinux() ? O_DIRECTORY | O_CLOEXEC : 0);
        var fd = Open(folder, flags);
        if (fd < 0)
        {
            throw new IOException($"cannot open the folder '{folder}' to flush it: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            int result;
            do
            {
                result = FSync(fd);
            }
            while (result != 0 && Marshal.GetLastPInvokeError() == EINTR);

            if (result != 0)
            {
                throw new IOException($"cannot flush the folder '{folder}' to the disk: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
