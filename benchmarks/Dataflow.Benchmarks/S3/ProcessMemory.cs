using System.Globalization;

namespace Dataflow.Benchmarks.S3;

/// <summary>
/// This process's resident memory from <c>/proc/self/status</c> (Linux): everything resident, managed heap, native
/// buffers, runtime and code alike. The peak (<c>VmHWM</c>) can be reset to the current size, so that it covers
/// one operation only.
/// </summary>
internal static class ProcessMemory
{
    /// <summary>The resident set now (<c>VmRSS</c>), in bytes.</summary>
    public static long Resident() => Read("VmRSS:");

    /// <summary>The largest resident set since the start or the last <see cref="ResetPeak"/> (<c>VmHWM</c>), in bytes.</summary>
    public static long Peak() => Read("VmHWM:");

    /// <summary>Resets the peak to the current resident set (writes 5 to <c>/proc/self/clear_refs</c>, Linux 4.0 and later).</summary>
    /// <exception cref="IOException">The kernel refused.</exception>
    public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    private static long Read(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                // "VmHWM:\t  123456 kB"
                var parts = line[field.Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new PlatformNotSupportedException($"/proc/self/status has no {field} line: peak memory is measured on Linux only");
    }
}
