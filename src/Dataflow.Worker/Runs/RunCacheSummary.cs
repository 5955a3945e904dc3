namespace Dataflow.Worker;

/// <summary>What the task cache did in one run (<see cref="RunSummary.Cache"/>).</summary>
public sealed record RunCacheSummary
{
    /// <summary>How the run used the cache: <c>on</c> or <c>read-only</c>.</summary>
    public required string Mode { get; init; }

    /// <summary>
    /// Tasks not run thanks to the cache, per stage (in stage order): those taken from it, and those not even looked
    /// up because only tasks taken from it read their outputs (<see cref="TasksNotNeeded"/>).
    /// </summary>
    public required IReadOnlyList<int> TasksCached { get; init; }

    /// <summary>Of <see cref="TasksCached"/>, the tasks not looked up: every task that reads their outputs was taken from the cache.</summary>
    public int TasksNotNeeded { get; init; }

    /// <summary>Tasks that have a cache key (whose operator declares a version, and whose inputs have fingerprints).</summary>
    public required int TasksWithKey { get; init; }

    /// <summary>Entries looked up: tasks with a key that had not committed when the run (or its resume) started.</summary>
    public required int Lookups { get; init; }

    /// <summary>Entries found but not used — unreadable, an object missing or changed, or damaged when read — whose tasks ran instead.</summary>
    public required int EntriesInvalid { get; init; }

    /// <summary>Entries the run added (or replaced): one per task it ran that has a key, with the cache on.</summary>
    public required int EntriesWritten { get; init; }

    /// <summary>Why entries were not used and why tasks have no key: at most 20 lines.</summary>
    public IReadOnlyList<string>? Reasons { get; init; }
}
