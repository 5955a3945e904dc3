using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>The outcome of a successful run: its summary and its plan.</summary>
/// <param name="Summary">What the run did.</param>
/// <param name="Plan">The plan it ran.</param>
public sealed record RunResult(RunSummary Summary, Plan Plan)
{
    /// <summary>
    /// Why the run's summary or report could not be stored (a full disk, say), although the run succeeded and its
    /// output is published; <see langword="null"/> when they were stored.
    /// </summary>
    public string? RecordsNotStored { get; init; }
}
