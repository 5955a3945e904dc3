using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Dataflow.Storage;

/// <summary>
/// A file's identity for the task cache (<see cref="IObjectStore.GetIdentityAsync"/>): device and inode numbers,
/// size and modification time in nanoseconds, from one <c>statx(2)</c> (whose buffer has the same layout on every
/// architecture). Elsewhere than Linux, <see langword="null"/>.
/// </summary>
internal static partial class FileIdentity
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;
    private const int Enoent = 2;
    private const int Enotdir = 20;

    /// <summary>The identity of the file at <paramref name="path"/>, or <see langword="null"/> when there is none (or not on Linux).</summary>
    /// <exception cref="IOException">statx failed other than for a missing file.</exception>
    public static string? Of(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        Span<byte> buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, 0, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is Enoent or Enotdir ? null : throw new IOException($"statx of '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        // struct statx: stx_ino at 32, stx_size at 40, stx_mtime (tv_sec i64, tv_nsec u32) at 112, stx_dev_major/minor at 136/140.
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]);
        var size = BinaryPrimitives.ReadUInt64LittleEndian(buffer[40..]);
        var seconds = BinaryPrimitives.ReadInt64LittleEndian(buffer[112..]);
        var nanoseconds = BinaryPrimitives.ReadUInt32LittleEndian(buffer[120..]);
        var major = BinaryPrimitives.ReadUInt32LittleEndian(buffer[136..]);
        var minor = BinaryPrimitives.ReadUInt32LittleEndian(buffer[140..]);
        return string.Create(CultureInfo.InvariantCulture, $"dev {major}:{minor} ino {inode} size {size} mtime {seconds}.{nanoseconds:D9}");
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, ref byte buffer);
}
