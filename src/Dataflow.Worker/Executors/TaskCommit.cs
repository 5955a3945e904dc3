using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>A task's commit as a worker process or pod wrote it (see <see cref="TaskExecution.FindCommitAsync"/>).</summary>
public sealed class TaskCommit
{
    internal TaskCommit(CommitMarker marker) => Marker = marker;

    /// <summary>The task.</summary>
    public TaskId Task => Marker.Task;

    /// <summary>The attempt that committed (the winner, if several did).</summary>
    public string AttemptId => Marker.AttemptId;

    /// <summary>The attempt's number, 1 for the first.</summary>
    public int Attempt => Marker.Attempt;

    /// <summary>The worker that ran it (a pod's name), when it said.</summary>
    public string? Worker => Marker.Worker;

    /// <summary>When it committed, on the worker's clock.</summary>
    public DateTimeOffset CommittedAt => Marker.CommittedAt;

    /// <summary>How long the attempt ran.</summary>
    public TimeSpan Duration => TimeSpan.FromMilliseconds(Marker.DurationMs);

    internal CommitMarker Marker { get; }
}
