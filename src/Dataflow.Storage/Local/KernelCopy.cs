using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Dataflow.Storage;

/// <summary>
/// Copies bytes between two files inside the kernel (Linux <c>copy_file_range</c>, as coreutils' <c>cat</c> and
/// <c>cp</c> do): no round trip through the process, and on file systems that can, no copy at all (reflinks).
/// Where the kernel cannot (another OS, an old kernel, two file systems it will not copy between), the caller copies
/// itself.
/// </summary>
internal static partial class KernelCopy
{
    /// <summary>The most one call copies, so that a long copy can be cancelled between calls.</summary>
    private const long Chunk = 64L << 20;

    private const int ENOSYS = 38;
    private const int EXDEV = 18;
    private const int EINVAL = 22;
    private const int EOPNOTSUPP = 95;

    private static volatile bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>
    /// Copies <paramref name="length"/> bytes of <paramref name="source"/> from <paramref name="sourceOffset"/> to
    /// <paramref name="destination"/> at <paramref name="destinationOffset"/>, neither file's offset moving.
    /// </summary>
    /// <returns>
    /// The bytes copied: <paramref name="length"/>; fewer when the source ended early; or 0 with
    /// <paramref name="unsupported"/> set when the kernel cannot copy between these files (nothing was copied then).
    /// </returns>
    /// <exception cref="IOException">The copy failed for another reason.</exception>
    public static long Copy(SafeFileHandle source, long sourceOffset, SafeFileHandle destination, long destinationOffset, long length, out bool unsupported, CancellationToken cancellationToken)
    {
        unsupported = s_unavailable;
        if (unsupported)
        {
            return 0;
        }

        var done = 0L;
        while (done < length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var inOffset = sourceOffset + done;
            var outOffset = destinationOffset + done;
            var n = CopyFileRange(source, ref inOffset, destination, ref outOffset, (nuint)Math.Min(Chunk, length - done), 0);
            if (n > 0)
            {
                done += n;
                continue;
            }

            if (n == 0)
            {
                return done;
            }

            var error = Marshal.GetLastPInvokeError();
            if (done == 0 && error is ENOSYS or EXDEV or EINVAL or EOPNOTSUPP)
            {
                if (error == ENOSYS)
                {
                    s_unavailable = true;
                }

                unsupported = true;
                return 0;
            }

            throw new IOException($"copy_file_range failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
        }

        return done;
    }

    [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    private static partial nint CopyFileRange(SafeFileHandle fdIn, ref long offIn, SafeFileHandle fdOut, ref long offOut, nuint length, uint flags);
}
