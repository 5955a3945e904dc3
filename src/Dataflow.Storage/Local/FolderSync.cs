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
    private const int O_CLOEXEC = 0x80000;
    private const int EINTR = 4;

    /// <summary>
    /// O_DIRECTORY, so that a path that is not a folder is refused: its value differs between Linux's architectures
    /// (0x10000 on x86-64, 0x4000 on arm64, where 0x10000 is O_DIRECT); elsewhere the folder is opened without it.
    /// </summary>
    private static readonly int s_directory = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x10000,
        Architecture.Arm64 or Architecture.Arm => 0x4000,
        _ => 0,
    };

    /// <summary>Flushes <paramref name="folder"/>'s entries; an <see cref="IOException"/> names the folder and why when it cannot.</summary>
    public static void Flush(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var flags = O_RDONLY | s_directory | (OperatingSystem.IsLinux() ? O_CLOEXEC : 0);
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
