using System.Diagnostics;
using System.Globalization;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// Measures what this process uses between <see cref="Start"/> and <see cref="Stop"/>: CPU time (user and system, the
/// differences of <see cref="Process.UserProcessorTime"/> and <see cref="Process.PrivilegedProcessorTime"/>) and, on
/// Linux, the peak resident memory (<c>VmHWM</c> of <c>/proc/self/status</c>), reset at the start by writing 5 to
/// <c>/proc/self/clear_refs</c>. Meaningful for work that has the process to itself (a worker process's one task at a
/// time, a pod's task, or the driver over a whole run).
/// </summary>
internal sealed class ProcessMeter
{
    private const string ClearRefs = "/proc/self/clear_refs";
    private const string Status = "/proc/self/status";

    private readonly TimeSpan _user;
    private readonly TimeSpan _system;
    private readonly bool _peakReset;

    private ProcessMeter(TimeSpan user, TimeSpan system, bool peakReset)
    {
        _user = user;
        _system = system;
        _peakReset = peakReset;
    }

    /// <summary>Starts measuring now; resets the process's peak memory when <paramref name="resetPeak"/>.</summary>
    public static ProcessMeter Start(bool resetPeak = true)
    {
        var reset = resetPeak && ResetPeak();
        var (user, system) = CpuTimes();
        return new ProcessMeter(user, system, reset);
    }

    /// <summary>What the process used since <see cref="Start"/>, with <paramref name="requests"/> as its store requests.</summary>
    public ResourceUse Stop(StoreRequestCounts? requests)
    {
        var (user, system) = CpuTimes();
        var peak = PeakBytes();
        return new ResourceUse
        {
            CpuUserMs = (long)(user - _user).TotalMilliseconds,
            CpuSystemMs = (long)(system - _system).TotalMilliseconds,
            PeakMemoryBytes = peak,
            PeakSinceProcessStart = peak is not null && !_peakReset,
            Requests = requests?.Snapshot(),
        };
    }

    /// <summary>
    /// What work measured with <paramref name="meter"/> used so far, with <paramref name="requests"/> as its store
    /// requests; its requests alone when it had no meter (it shared its process).
    /// </summary>
    public static ResourceUse Measure(ProcessMeter? meter, StoreRequestCounts requests) =>
        meter?.Stop(requests) ?? new ResourceUse { Requests = requests.Snapshot() };

    /// <summary>The process's peak resident memory in bytes (<c>VmHWM</c>); <see langword="null"/> off Linux or when it cannot be read.</summary>
    public static long? PeakBytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            foreach (var line in File.ReadLines(Status))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    // "VmHWM:	  123456 kB"
                    var value = line.AsSpan("VmHWM:".Length).Trim();
                    var space = value.IndexOf(' ');
                    return long.Parse(space < 0 ? value : value[..space], NumberStyles.None, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
        }

        return null;
    }

    /// <summary>Resets the process's peak resident memory to its current size; false when that is not possible (not Linux, not permitted).</summary>
    private static bool ResetPeak()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            File.WriteAllText(ClearRefs, "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static (TimeSpan User, TimeSpan System) CpuTimes()
    {
        using var process = Process.GetCurrentProcess();
        return (process.UserProcessorTime, process.PrivilegedProcessorTime);
    }
}
