using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>A run as <see cref="RunWatcher.GetView"/> shows it: its state, stages and records.</summary>
/// <param name="RunId">The run's id.</param>
/// <param name="Job">The job's name, when its plan or summary says.</param>
/// <param name="State">As <see cref="RunListing.State"/>: running, succeeded, failed, cancelled, interrupted or damaged.</param>
public sealed record RunView(string RunId, string? Job, string State)
{
    /// <summary>When the run was planned; time 0 of the task times.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>The Dataflow build that planned it.</summary>
    public string? DataflowVersion { get; init; }

    /// <summary>The job's input objects.</summary>
    public int? InputCount { get; init; }

    /// <summary>The arguments stored with the run.</summary>
    public IReadOnlyList<string>? Arguments { get; init; }

    /// <summary>The run's task cache mode (<c>off</c>, <c>on</c>, <c>readonly</c>), when it has a plan.</summary>
    public string? Cache { get; init; }

    /// <summary>Its stages, in plan order.</summary>
    public IReadOnlyList<StageView> Stages { get; init; } = [];

    /// <summary>The keys of its final outputs.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>Its summary, once it ended.</summary>
    public RunSummary? Summary { get; init; }

    /// <summary>Who holds (or last held) its lease.</summary>
    public RunLeaseInfo? Lease { get; init; }

    /// <summary>For a damaged run: what is wrong.</summary>
    public string? Damage { get; init; }

    /// <summary>Where its tasks ran, as its report says (<c>local</c>, <c>process</c>, <c>kubernetes</c>, <c>argo</c>); <see langword="null"/> before it has one.</summary>
    public string? Executor { get; init; }

    /// <summary>True when the run has its report (<c>report.json</c> and <c>report.html</c>).</summary>
    public bool HasReport { get; init; }

    /// <summary>How long it has run (to now while it runs), in ms from <see cref="CreatedAt"/>.</summary>
    public double ElapsedMs { get; init; }

    /// <summary>Commit records read so far.</summary>
    public int RecordsRead { get; init; }

    /// <summary>
    /// Commit records listed but not read yet (a refresh with a time budget reads the rest later). While some are, a
    /// run with a report shows its stages' totals from the report, and the timeline and task pages what was read.
    /// </summary>
    public int RecordsPending { get; init; }

    /// <summary>What the driver of a running run does now (one of <see cref="RunPhases"/>), as it last stored it.</summary>
    public string? Phase { get; init; }

    /// <summary>Tasks in all stages.</summary>
    public int Tasks => Stages.Sum(s => s.Tasks);

    /// <summary>Tasks committed in all stages (from the task cache included).</summary>
    public int TasksCommitted => Stages.Sum(s => s.Committed);
}

/// <summary>One stage of a <see cref="RunView"/>.</summary>
/// <param name="Index">The stage's index.</param>
/// <param name="Name">Its name.</param>
/// <param name="Tasks">Its tasks.</param>
/// <param name="Committed">Tasks committed (from the task cache included).</param>
/// <param name="BytesRead">Bytes their winning attempts read.</param>
/// <param name="BytesWritten">Bytes they wrote.</param>
public sealed record StageView(int Index, string Name, int Tasks, int Committed, long BytesRead, long BytesWritten)
{
    /// <summary>Of the committed tasks, those taken from the task cache (or passed over because only cached tasks read them).</summary>
    public int Cached { get; init; }

    /// <summary>Tasks that hold a slot, worker process or pod now, as the driver of a running run last stored it; <see langword="null"/> when not known.</summary>
    public int? Running { get; init; }

    /// <summary>Tasks not committed whose attempts failed (while the run goes on, some may be retried), or that failed for good (once it has its report).</summary>
    public int Failed { get; init; }

    /// <summary>Commits set aside (their outputs were lost or damaged, so the task ran again).</summary>
    public int SetAside { get; init; }

    /// <summary>When its first attempt started, in ms of the run (from its report).</summary>
    public double? StartMs { get; init; }

    /// <summary>When its last attempt ended.</summary>
    public double? EndMs { get; init; }
}

/// <summary>
/// A run's timeline, aggregated (<see cref="RunWatcher.GetTimeline"/>): <see cref="LengthMs"/> cut into buckets of
/// <see cref="BucketMs"/>.
/// </summary>
/// <param name="LengthMs">The time shown, from the run's plan to now (while it runs) or to its end.</param>
/// <param name="BucketMs">One bucket's time.</param>
/// <param name="Rows">Workers (the driver's own process is <see cref="RunWatcher.DriverRow"/>).</param>
/// <param name="Commits">Per stage, the tasks that committed in each bucket.</param>
public sealed record TimelineView(double LengthMs, double BucketMs, IReadOnlyList<TimelineRow> Rows, IReadOnlyList<IReadOnlyList<int>> Commits);

/// <summary>One row of a <see cref="TimelineView"/>.</summary>
/// <param name="Name">The worker (or "N other workers").</param>
/// <param name="Busy">Per bucket, how many of its tasks ran on average (1 = one task all the time).</param>
/// <param name="Stage">Per bucket, the stage whose tasks ran most (-1: none ran).</param>
public sealed record TimelineRow(string Name, IReadOnlyList<double> Busy, IReadOnlyList<int> Stage);

/// <summary>The states <see cref="RunWatcher.GetTasks"/> gives tasks.</summary>
public static class TaskStates
{
    /// <summary>An attempt committed.</summary>
    public const string Committed = "committed";

    /// <summary>Taken from the task cache, or passed over because only cached tasks read it.</summary>
    public const string Cached = "cached";

    /// <summary>Not committed, and an attempt failed.</summary>
    public const string Failed = "failed";

    /// <summary>Not committed: waiting, running, or never run (the run ended first).</summary>
    public const string Pending = "pending";

    /// <summary>Every state.</summary>
    public static IReadOnlyList<string> All { get; } = [Committed, Cached, Failed, Pending];
}

/// <summary>A page of a stage's tasks.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="State">The state asked for, or <see langword="null"/> for all.</param>
/// <param name="Offset">Matching tasks passed over.</param>
/// <param name="Matching">Tasks of the stage in that state, in all.</param>
/// <param name="Items">The page.</param>
public sealed record TaskPage(int Stage, string? State, int Offset, int Matching, IReadOnlyList<TaskView> Items);

/// <summary>One task on a <see cref="TaskPage"/>.</summary>
/// <param name="Index">Its index in its stage.</param>
/// <param name="State">One of <see cref="TaskStates"/>.</param>
public sealed record TaskView(int Index, string State)
{
    /// <summary>The committed attempt's number (0 for one from the cache).</summary>
    public int? Attempt { get; init; }

    /// <summary>The worker that ran it.</summary>
    public string? Worker { get; init; }

    /// <summary>When its committed attempt started, in ms of the run.</summary>
    public double? StartMs { get; init; }

    /// <summary>How long that attempt ran.</summary>
    public double? DurationMs { get; init; }

    /// <summary>Bytes it read.</summary>
    public long BytesRead { get; init; }

    /// <summary>Bytes it wrote.</summary>
    public long BytesWritten { get; init; }
}

/// <summary>One task in detail (<see cref="RunWatcher.GetTaskAsync"/>).</summary>
/// <param name="Task">The task.</param>
/// <param name="StageName">Its stage's name.</param>
/// <param name="Operator">Its operator.</param>
/// <param name="View">Its state and committed attempt.</param>
public sealed record TaskDetail(TaskId Task, string StageName, string Operator, TaskView View)
{
    /// <summary>Its inputs as people read them: object keys (with byte ranges), or other tasks' outputs.</summary>
    public IReadOnlyList<string> Inputs { get; init; } = [];

    /// <summary>Its outputs' names.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];
}

/// <summary>Failed attempts of a run (<see cref="RunWatcher.GetFailuresAsync"/>).</summary>
/// <param name="Total">Failed attempts the records hold.</param>
/// <param name="Items">The newest of them.</param>
public sealed record FailureList(int Total, IReadOnlyList<FailedAttemptView> Items);

/// <summary>One failed attempt.</summary>
/// <param name="Task">The task.</param>
/// <param name="Attempt">The attempt's number.</param>
/// <param name="Error">Why it failed.</param>
public sealed record FailedAttemptView(TaskId Task, int Attempt, string? Error)
{
    /// <summary>Where it ran.</summary>
    public string? Worker { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>True when the job judged the failure permanent (not tried again), when known.</summary>
    public bool? Permanent { get; init; }

    /// <summary>The task's inputs (object keys, or other tasks' outputs).</summary>
    public IReadOnlyList<string> Inputs { get; init; } = [];
}
