using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// A task's commit as a worker process or pod wrote it (see <see cref="TaskExecution.FindCommitAsync"/> and
/// <see cref="TaskExecution.FindShardCommitsAsync"/>).
/// </summary>
public sealed class TaskCommit
{
    internal TaskCommit(CommitMarker marker, int attempts = 1)
    {
        Marker = marker;
        Attempts = attempts;
    }

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

    /// <summary>Bytes the attempt read, as its commit says (0 when it does not: a worker of an earlier build).</summary>
    public long BytesRead => Marker.BytesRead ?? 0;

    /// <summary>Bytes the attempt wrote, as its commit says (0 when it does not).</summary>
    public long BytesWritten => Marker.BytesWritten ?? 0;

    /// <summary>What the attempt used, as its commit says (<see langword="null"/> when it does not: a worker of an earlier build).</summary>
    public ResourceUse? Resources => Marker.Resources;

    /// <summary>
    /// The attempts the task took, as far as its records tell: its committed attempts (more than one if duplicates
    /// committed) and those a pod's shard record says failed; 1 when read from its own record alone.
    /// </summary>
    public int Attempts { get; }

    internal CommitMarker Marker { get; }
}

/// <summary>What the shard records of one shard of tasks hold (see <see cref="TaskExecution.FindShardCommitsAsync"/>).</summary>
public sealed class ShardCommits
{
    internal ShardCommits(IReadOnlyList<TaskCommit> commits, int records, int failedRecords)
    {
        Commits = commits;
        Records = records;
        FailedRecords = failedRecords;
    }

    /// <summary>The winning commit of each task of the shard that the records hold, by task.</summary>
    public IReadOnlyList<TaskCommit> Commits { get; }

    /// <summary>The shard records read: one per pod of the shard that ended on its own (none when its pods wrote none).</summary>
    public int Records { get; }

    /// <summary>
    /// Those of <see cref="Records"/> whose pod had a task fail (the pod failed, and its failed attempts are counted in
    /// <see cref="TaskCommit.Attempts"/>): a failed pod the Job counts beyond these was killed, leaving no record.
    /// </summary>
    public int FailedRecords { get; }

    /// <summary>
    /// The tasks of the shard that the records say failed and none committed, in task order: with the attempts that
    /// failed, and whether a pod found the failure permanent — what a failed shard's error names.
    /// </summary>
    public IReadOnlyList<ShardFailure> Failed { get; init; } = [];
}

/// <summary>A task of a shard that failed in its pods and has not committed (see <see cref="ShardCommits.Failed"/>).</summary>
/// <param name="Task">The task.</param>
/// <param name="Attempts">Its attempts that failed, as the pods' shard records say (a pod killed in flight leaves none).</param>
/// <param name="Permanent">Whether a pod found the failure permanent, so that the shard was not run again.</param>
public sealed record ShardFailure(TaskId Task, int Attempts, bool Permanent);
