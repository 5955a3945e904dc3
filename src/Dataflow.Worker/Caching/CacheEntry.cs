using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// One entry of the task cache (<see cref="CacheLayout.EntryKey"/>): the outputs a task with cache key
/// <see cref="Key"/> committed, as its commit marker recorded them (sizes, checksums, entity tags, references). A final
/// output is recorded where it was published. Entries are replaced, never changed: a task that runs again because its
/// entry was found wanting writes a new one.
/// </summary>
internal sealed record CacheEntry
{
    /// <summary>The entry schema version this library writes.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The schema version.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The cache key (64 hex digits).</summary>
    public required string Key { get; init; }

    /// <summary>The job of the run that made the entry.</summary>
    public required string Job { get; init; }

    /// <summary>The task's operator.</summary>
    public required string Operator { get; init; }

    /// <summary>The operator's declared version.</summary>
    public required string Version { get; init; }

    /// <summary>The run that ran the task.</summary>
    public required string RunId { get; init; }

    /// <summary>The task in that run's plan.</summary>
    public required TaskId Task { get; init; }

    /// <summary>When the entry was made.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>How long the task ran, in milliseconds: what a hit saves.</summary>
    public long DurationMs { get; init; }

    /// <summary>The task's outputs.</summary>
    public required IReadOnlyList<CommittedOutput> Outputs { get; init; }

    /// <summary>The objects whose bytes the entry's outputs are, with their sizes: data objects and the objects references point into.</summary>
    public IEnumerable<ObjectSegment> Objects() => Outputs.SelectMany(o => o.AsSegments());
}
