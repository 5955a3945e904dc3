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
}
