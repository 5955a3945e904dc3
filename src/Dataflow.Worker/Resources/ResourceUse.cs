using System.Text.Json.Serialization;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// What one task attempt (or a stage's attempts together, or a run's driver) used: CPU time, peak memory and store
/// requests. A figure that could not be measured where the work ran is <see langword="null"/>: CPU and memory of an
/// attempt that shared its process with others (the local executor's), memory off Linux.
/// </summary>
public sealed record ResourceUse
{
    /// <summary>CPU time in user mode, in milliseconds.</summary>
    public long? CpuUserMs { get; init; }

    /// <summary>CPU time in the kernel on the process's behalf (system time), in milliseconds.</summary>
    public long? CpuSystemMs { get; init; }

    /// <summary>
    /// The peak resident memory of the process that did the work, in bytes (Linux's <c>VmHWM</c>), reset when the work
    /// started; for several attempts, the largest of theirs.
    /// </summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>
    /// True when the peak could not be reset when the work started (writing <c>/proc/self/clear_refs</c> was refused),
    /// so <see cref="PeakMemoryBytes"/> is the peak since the process started. Left out when false.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool PeakSinceProcessStart { get; init; }

    /// <summary>Store requests by kind; <see langword="null"/> when not counted (an attempt of an earlier build).</summary>
    public StoreRequestCounts? Requests { get; init; }
}
