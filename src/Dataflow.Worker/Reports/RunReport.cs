namespace Dataflow.Worker;

/// <summary>
/// What a run did, task by task: stored with the run as <c>report.json</c> (and rendered as <c>report.html</c>) at
/// the end of every run, failed and cancelled ones included. Times are milliseconds since <see cref="StartedAt"/>.
/// </summary>
internal sealed record RunReport
{
    /// <summary>The report schema version this library writes.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The report schema version.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The run's summary (the same as its <c>summary.json</c>).</summary>
    public required RunSummary Summary { get; init; }

    /// <summary>When the driver started the run (time 0 of every other time in the report).</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Where the tasks ran: <c>local</c>, <c>process</c>, <c>kubernetes</c> or <c>argo</c>.</summary>
    public required string Executor { get; init; }

    /// <summary>
    /// The rows of the timeline: worker slots of this process (<c>slot 1</c>, …), worker processes, or pods; an
    /// attempt's <see cref="AttemptReport.Row"/> indexes this list.
    /// </summary>
    public required IReadOnlyList<string> Rows { get; init; }

    /// <summary>The run's stages, in plan order.</summary>
    public required IReadOnlyList<StageReport> Stages { get; init; }

    /// <summary>Every attempt the run started, in the order they started.</summary>
    public required IReadOnlyList<AttemptReport> Attempts { get; init; }

    /// <summary>Attempts left out of <see cref="Attempts"/> to keep the report small (a run of very many tasks); the stage totals count them.</summary>
    public int AttemptsOmitted { get; init; }

    /// <summary>The run's phases (listing, planning, running, publishing, cleaning up), in order.</summary>
    public required IReadOnlyList<PhaseReport> Phases { get; init; }

    /// <summary>
    /// The tasks that failed for good and were tolerated (<c>--max-failed-inputs</c>), in task order; <see langword="null"/>
    /// when none were: see <see cref="RunSummary.Partial"/>.
    /// </summary>
    public IReadOnlyList<ToleratedFailureReport>? Tolerated { get; init; }
}

/// <summary>One stage of a <see cref="RunReport"/>: its tasks and what they did.</summary>
internal sealed record StageReport
{
    /// <summary>The stage's index in the plan.</summary>
    public required int Index { get; init; }

    /// <summary>The stage's name.</summary>
    public required string Name { get; init; }

    /// <summary>Tasks in the stage.</summary>
    public required int Tasks { get; init; }

    /// <summary>Tasks this run executed to commit.</summary>
    public required int Committed { get; init; }

    /// <summary>Tasks found committed by an earlier driver of the run, not run again.</summary>
    public required int Skipped { get; init; }

    /// <summary>Tasks that failed on every attempt.</summary>
    public required int Failed { get; init; }

    /// <summary>Commits set aside because their outputs were found missing or failing verification; those tasks ran again.</summary>
    public int SetAside { get; init; }

    /// <summary>Tasks taken from the task cache instead of run.</summary>
    public int Cached { get; init; }

    /// <summary>Attempts started.</summary>
    public required int Attempts { get; init; }

    /// <summary>Attempts that were retries.</summary>
    public required int Retries { get; init; }

    /// <summary>Bytes the stage's attempts read.</summary>
    public required long BytesRead { get; init; }

    /// <summary>Bytes the stage's attempts wrote.</summary>
    public required long BytesWritten { get; init; }

    /// <summary>When the stage's first attempt started; <see langword="null"/> when none ran.</summary>
    public double? StartMs { get; init; }

    /// <summary>When the stage's last attempt ended; <see langword="null"/> when none ran.</summary>
    public double? EndMs { get; init; }

    /// <summary>The median duration of the stage's committed attempts; <see langword="null"/> when none committed.</summary>
    public double? MedianTaskMs { get; init; }

    /// <summary>The longest duration of the stage's committed attempts (its straggler); <see langword="null"/> when none committed.</summary>
    public double? MaxTaskMs { get; init; }

    /// <summary>What the stage's attempts used: CPU and requests summed, peak memory the largest; <see langword="null"/> when none reported it.</summary>
    public ResourceUse? Resources { get; init; }
}

/// <summary>One attempt of one task in a <see cref="RunReport"/>.</summary>
internal sealed record AttemptReport
{
    /// <summary>The task's stage.</summary>
    public required int Stage { get; init; }

    /// <summary>The task's index in its stage.</summary>
    public required int Task { get; init; }

    /// <summary>The attempt's number, from 1.</summary>
    public required int Attempt { get; init; }

    /// <summary>The timeline row (an index into <see cref="RunReport.Rows"/>) the attempt ran on.</summary>
    public required int Row { get; init; }

    /// <summary>When the attempt started working (its worker slot taken), in ms since the run started.</summary>
    public required double StartMs { get; init; }

    /// <summary>When the attempt ended (committed, failed or cancelled), in ms since the run started.</summary>
    public required double EndMs { get; init; }

    /// <summary>How the attempt ended: <c>committed</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public required string Outcome { get; init; }

    /// <summary>Bytes the attempt read (0 where the executor does not report them).</summary>
    public long BytesRead { get; init; }

    /// <summary>Bytes the attempt wrote (0 where the executor does not report them).</summary>
    public long BytesWritten { get; init; }

    /// <summary>Why the attempt failed, when it did (or, for a cancelled attempt that lost its task's race, which attempt won).</summary>
    public string? Error { get; init; }

    /// <summary>What the attempt used (see <see cref="ResourceUse"/>); <see langword="null"/> where the executor does not know.</summary>
    public ResourceUse? Resources { get; init; }

    /// <summary><see langword="true"/> for a backup attempt started beside a straggling attempt of the same task (a speculative attempt); otherwise not written.</summary>
    public bool? Speculative { get; init; }
}

/// <summary>One phase of a run in a <see cref="RunReport"/>.</summary>
/// <param name="Name">The phase, as the progress display names it.</param>
/// <param name="StartMs">When it started, in ms since the run started.</param>
/// <param name="EndMs">When it ended.</param>
internal sealed record PhaseReport(string Name, double StartMs, double EndMs);

/// <summary>The outcomes of an <see cref="AttemptReport"/>.</summary>
internal static class AttemptOutcomes
{
    /// <summary>The attempt committed: its outputs are the task's.</summary>
    public const string Committed = "committed";

    /// <summary>The attempt failed (it may have been retried).</summary>
    public const string Failed = "failed";

    /// <summary>The run was cancelled or stopped while the attempt worked.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The task was taken from the task cache: not run (an entry of no length on the <c>cache</c> row).</summary>
    public const string Cached = "cached";
}
