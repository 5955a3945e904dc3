using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// One commit object in the store: the markers of one or more committed task attempts. A worker writes one record
/// per task (or per shard of tasks); the local driver groups the tasks that commit at about the same time into one
/// record, so that a run of many small tasks does not pay one object write per task.
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
}

/// <summary>A commit set aside: the attempt's outputs are not to be read, and its task runs again.</summary>
/// <param name="Task">The task.</param>
/// <param name="AttemptId">The attempt whose commit is set aside.</param>
/// <param name="Reason">Why: the output that was missing or failed verification.</param>
/// <param name="At">When it was set aside.</param>
internal sealed record SetAsideCommit(TaskId Task, string AttemptId, string Reason, DateTimeOffset At);
