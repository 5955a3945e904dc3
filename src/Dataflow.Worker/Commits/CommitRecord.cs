using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// One commit object in the store: the markers of one or more committed task attempts. A worker writes one record
/// per task, and a pod that ran a shard of tasks also one shard record of them all (<see cref="Shard"/>); the local
/// driver groups the tasks that commit at about the same time into one record, so that a run of many small tasks does
/// not pay one object write per task.
/// </summary>
internal sealed record CommitRecord
{
    /// <summary>The commit record schema version this library writes.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The schema version.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The run.</summary>
    public required string RunId { get; init; }

    /// <summary>The committed attempts.</summary>
    public required IReadOnlyList<CommitMarker> Markers { get; init; }

    /// <summary>
    /// Commits that readers must ignore from now on: their outputs were found missing or failed verification, so
    /// their tasks run again (see <see cref="CommitIndex"/>). A record that sets commits aside has no markers.
    /// </summary>
    public IReadOnlyList<SetAsideCommit>? SetAside { get; init; }

    /// <summary>
    /// For a shard record (see <see cref="RunLayout.ShardCommitKey"/>): the shard a pod ran, and which of its tasks
    /// failed there. Its <see cref="Markers"/> are the winning commits of the shard's tasks as the pod knew them — those
    /// it committed and those committed before it (by an earlier pod of the shard) — copies of the tasks' own records,
    /// which stay the commits: the shard record is an index, read once where a driver would read each task's.
    /// </summary>
    public ShardRun? Shard { get; init; }
}

/// <summary>The shard a pod ran (tasks <paramref name="First"/> to <paramref name="Last"/> of stage <paramref name="Stage"/>), as its shard record says.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="First">The shard's first task.</param>
/// <param name="Last">Its last task.</param>
/// <param name="Failed">The tasks whose attempt failed in this pod (an error, or a lost input): each an attempt that did not commit.</param>
/// <param name="Permanent">Whether one of them failed permanently (the pod exited 2 and is not run again); absent in records of older builds.</param>
internal sealed record ShardRun(int Stage, int First, int Last, IReadOnlyList<TaskId> Failed, bool Permanent = false);

/// <summary>A commit set aside: the attempt's outputs are not to be read, and its task runs again.</summary>
/// <param name="Task">The task.</param>
/// <param name="AttemptId">The attempt whose commit is set aside.</param>
/// <param name="Reason">Why: the output that was missing or failed verification.</param>
/// <param name="At">When it was set aside.</param>
internal sealed record SetAsideCommit(TaskId Task, string AttemptId, string Reason, DateTimeOffset At);
