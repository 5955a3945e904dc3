using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>What a run is doing, for progress displays: a live object that the runner updates and anyone may read at any time.</summary>
public sealed class RunProgress
{
    private volatile StageProgress[] _stages = [];
    private volatile string _phase = RunPhases.Starting;
    private volatile string? _runId;

    /// <summary>The run's id, once known.</summary>
    public string? RunId => _runId;

    /// <summary>What the run is doing now: one of <see cref="RunPhases"/>.</summary>
    public string Phase => _phase;

    /// <summary>Progress per stage; empty until the plan is made.</summary>
    public IReadOnlyList<StageProgress> Stages => _stages;

    /// <summary>Tasks committed so far, over all stages.</summary>
    public int TasksCommitted => _stages.Sum(s => s.Committed);

    /// <summary>Tasks in the plan.</summary>
    public int TasksTotal => _stages.Sum(s => s.Total);

    internal void Start(string runId) => _runId = runId;

    /// <summary>Called with each new phase (the run report's recorder listens here).</summary>
    internal Action<string>? PhaseChanged { get; set; }

    internal void SetPhase(string phase)
    {
        _phase = phase;
        PhaseChanged?.Invoke(phase);
    }

    internal void SetPlan(Plan plan) =>
        _stages = plan.Stages.Select(s => new StageProgress(s.Name, s.Tasks.Count)).ToArray();

    /// <summary>A task of <paramref name="stage"/> runs now: it holds a slot, a worker process or a pod (not: it waits for one).</summary>
    internal void TaskRunning(int stage) => _stages[stage].Started();

    /// <summary>A task of <paramref name="stage"/> gave up its slot, worker process or pod.</summary>
    internal void TaskIdle(int stage) => _stages[stage].Stopped();

    internal void TaskCommitted(int stage) => _stages[stage].Finished();

    internal void TaskSetAside(int stage) => _stages[stage].Undone();
}

/// <summary>The phases a run goes through.</summary>
public static class RunPhases
{
    /// <summary>Not started.</summary>
    public const string Starting = "starting";

    /// <summary>Listing the input objects.</summary>
    public const string Listing = "listing inputs";

    /// <summary>Making and storing the plan.</summary>
    public const string Planning = "planning";

    /// <summary>Computing task keys and looking tasks up in the task cache.</summary>
    public const string CheckingCache = "checking the cache";

    /// <summary>Running tasks.</summary>
    public const string Running = "running";

    /// <summary>Publishing the final outputs.</summary>
    public const string Publishing = "publishing";

    /// <summary>Deleting intermediate artifacts and writing the summary.</summary>
    public const string CleaningUp = "cleaning up";

    /// <summary>Finished, one way or another.</summary>
    public const string Done = "done";
}

/// <summary>The progress of one stage.</summary>
public sealed class StageProgress
{
    private int _committed;
    private int _running;

    internal StageProgress(string name, int total)
    {
        Name = name;
        Total = total;
    }

    /// <summary>The stage's name.</summary>
    public string Name { get; }

    /// <summary>Its number of tasks.</summary>
    public int Total { get; }

    /// <summary>Tasks committed (including any found already committed).</summary>
    public int Committed => Volatile.Read(ref _committed);

    /// <summary>Tasks running now: holding a slot, a worker process or a pod (tasks waiting for one are not counted).</summary>
    public int Running => Volatile.Read(ref _running);

    internal void Started() => Interlocked.Increment(ref _running);

    internal void Stopped() => Interlocked.Decrement(ref _running);

    internal void Undone() => Interlocked.Decrement(ref _committed);

    internal void Finished() => Interlocked.Increment(ref _committed);
}
