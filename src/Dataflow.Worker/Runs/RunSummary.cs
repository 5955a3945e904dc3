using System.Text.Json.Serialization;

namespace Dataflow.Worker;

/// <summary>
/// What a run did, in one object: printed by <c>--json</c> on stdout (the same schema for every program) and stored
/// with the run as <c>summary.json</c>.
/// </summary>
public sealed record RunSummary
{
    /// <summary>The summary schema version this library writes.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The summary schema version.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The run's id.</summary>
    public required string RunId { get; init; }

    /// <summary>The job's name.</summary>
    public required string Job { get; init; }

    /// <summary>Whether the program checked the output and found it right; <see langword="false"/> when it did not check or the run failed.</summary>
    public bool Verified { get; init; }

    /// <summary>Stages in the plan.</summary>
    public required int Stages { get; init; }

    /// <summary>Tasks in the plan.</summary>
    public required int Tasks { get; init; }

    /// <summary>Tasks this run executed to commit.</summary>
    public required int TasksRun { get; init; }

    /// <summary>Tasks found already committed and not run again.</summary>
    public required int TasksSkipped { get; init; }

    /// <summary>Tasks taken from the task cache instead of run (see <see cref="Cache"/>); 0 without the cache.</summary>
    public int TasksCached { get; init; }

    /// <summary>What the task cache did in the run; <see langword="null"/> when it did not use the cache.</summary>
    public RunCacheSummary? Cache { get; init; }

    /// <summary>
    /// Commits set aside because their outputs were found missing, changed or failing verification; those tasks ran
    /// again (and are counted in <see cref="TasksRun"/>).
    /// </summary>
    public int TasksSetAside { get; init; }

    /// <summary>Attempts started, successful or not.</summary>
    public required int Attempts { get; init; }

    /// <summary>Attempts that were retries of a failed attempt.</summary>
    public required int Retries { get; init; }

    /// <summary>
    /// Backup attempts started beside straggling tasks (<see cref="JobRunnerOptions.Speculation"/>), counted in
    /// <see cref="Attempts"/> and not in <see cref="Retries"/>.
    /// </summary>
    public int SpeculativeAttempts { get; init; }

    /// <summary>Those of <see cref="SpeculativeAttempts"/> whose task they won (committed first; the attempt they backed up was cancelled).</summary>
    public int SpeculativeWins { get; init; }

    /// <summary>
    /// Tasks that failed for good in this run: 0 for a full success; in a partial one (<see cref="Partial"/>), the
    /// tolerated failures this driver met (a resumed run's earlier ones are in <see cref="TasksTolerated"/>).
    /// </summary>
    public required int Failed { get; init; }

    /// <summary>
    /// True when the run succeeded without some of its inputs: tasks that tolerate it (map tasks) failed for good
    /// within <see cref="JobRunnerOptions.MaxFailedInputs"/>, and the output holds what the other inputs give.
    /// <see cref="Status"/> is <c>succeeded</c>; programs exit with code 3 (<c>ExitCodes.PartialSuccess</c>).
    /// </summary>
    public bool Partial { get; init; }

    /// <summary>
    /// The inputs left out of the result, sorted: the job inputs' keys of the tasks that failed and were tolerated (or
    /// the task outputs they read, <c>stage/task:output</c>, for one that read no job input), those of earlier drivers
    /// of the run included. <see langword="null"/> when none failed; also set for a failed run whose tolerated failures
    /// came before the one that failed it.
    /// </summary>
    public IReadOnlyList<string>? FailedInputs { get; init; }

    /// <summary>Tasks that failed for good and were tolerated (their commits are the failure), earlier drivers' included.</summary>
    public int TasksTolerated { get; init; }

    /// <summary>Wall time of the run (planning, tasks, publishing, clean-up), in milliseconds.</summary>
    public required long WallMs { get; init; }

    /// <summary>Bytes read from the store by tasks and server-side composes.</summary>
    public required long BytesRead { get; init; }

    /// <summary>Bytes written to the store by tasks, composes and publishing.</summary>
    public required long BytesWritten { get; init; }

    /// <summary>
    /// Store requests retried by the store's retry policy after a transient failure (throttling, a 5xx, a dropped
    /// connection), by the driver and the worker processes whose reports it read: from planning to publishing, not
    /// those of writing this summary and the report. Each is logged at Debug (<c>--log-level debug</c>) with its cause.
    /// </summary>
    public long StoreRetries { get; init; }

    /// <summary>
    /// What the run used: CPU time, peak memory and store requests by kind, of its attempts and its driver (see
    /// <see cref="RunResources"/>); from planning to publishing, not the writing of this summary and the report.
    /// <see langword="null"/> in summaries of earlier builds.
    /// </summary>
    public RunResources? Resources { get; init; }

    /// <summary>The URI of the final output (or output prefix); <see langword="null"/> if none was published.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Output { get; init; }

    /// <summary>Intermediate data objects of this run still in the store (its records — plan, markers, summary — are not counted).</summary>
    public required int IntermediateObjectsLeft { get; init; }

    /// <summary>How the run ended: <c>succeeded</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public required string Status { get; init; }

    /// <summary>Why the run failed, when it did.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Error { get; init; }

    /// <summary>The summary as JSON, as <c>--json</c> prints it and <c>summary.json</c> stores it (camelCase names).</summary>
    /// <param name="indented">Indent for people to read.</param>
    public string ToJson(bool indented = false) => System.Text.Encoding.UTF8.GetString(RunRecords.Serialize(this, indented));
}
