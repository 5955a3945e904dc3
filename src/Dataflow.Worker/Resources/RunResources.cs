using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// What a whole run used (the summary's and report's totals): its attempts' figures added up, and the driver's own.
/// The local executor's attempts share the driver's process, so there the run's CPU and peak memory are the driver's.
/// </summary>
public sealed record RunResources
{
    /// <summary>User CPU time of the attempts that measured it and of the driver, in milliseconds; <see langword="null"/> when none did.</summary>
    public long? CpuUserMs { get; init; }

    /// <summary>System CPU time of the attempts that measured it and of the driver, in milliseconds; <see langword="null"/> when none did.</summary>
    public long? CpuSystemMs { get; init; }

    /// <summary>The largest peak resident memory of any attempt's process or the driver's, in bytes; <see langword="null"/> when none was measured.</summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>Store requests by kind, of every attempt and of the driver.</summary>
    public required StoreRequestCounts Requests { get; init; }

    /// <summary>
    /// The driver's own share: the requests it made outside attempts (plan, commit records, lease, collection,
    /// publishing), its process's CPU time over the run and its peak memory; <see langword="null"/> for a run that had
    /// no driver process (an Argo Workflow's summary, made by its finish step).
    /// </summary>
    public ResourceUse? Driver { get; init; }
}
