using System.Runtime.ExceptionServices;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The driver's side of one run: which tasks have committed (and with which attempt), how many consumers each
/// artifact still has, and so when its objects can be collected. Executors report commits here.
/// </summary>
internal sealed partial class RunSession
{
    private readonly Plan _plan;
    private readonly IObjectStore _store;
    private readonly ArtifactCollector _collector;
    private readonly RunProgress _progress;
    private readonly RunCounters _counters;
    private readonly CommitMarker?[] _markers;
    private readonly Dictionary<(TaskId Task, string Output), int> _artifacts = [];
    private readonly int[] _consumersLeft;
    private readonly (TaskId Task, string Output)[][] _consumes;
    private readonly int[] _consumedReleased;
    private readonly bool[] _wasSetAside;
    private readonly int[] _passedOver;
    private readonly Job _job;
    private readonly GroupCommitter _committer;

    public RunSession(Job job, Plan plan, IObjectStore store, JobRunnerOptions options, RunCounters counters, ArtifactCollector collector, GroupCommitter committer, RunProgress progress, RunTelemetry telemetry)
    {
        Telemetry = telemetry;
        _job = job;
        _committer = committer;
        _plan = plan;
        Layout = RunLayout.Of(plan);
        _store = store;
        _counters = counters;
        _collector = collector;
        _progress = progress;
        Graph = DagGraph.FromPlan(plan);
        _markers = new CommitMarker?[Graph.Count];
        _consumes = new (TaskId, string)[Graph.Count][];
        _consumedReleased = new int[Graph.Count];
        _wasSetAside = new bool[Graph.Count];
        Done = new bool[Graph.Count];
        TasksCached = new int[plan.Stages.Count];
        TasksNotNeeded = new int[plan.Stages.Count];
        _passedOver = new int[Graph.Count];

        foreach (var id in plan.TaskIds())
        {
            foreach (var output in plan.GetTask(id).Outputs)
            {
                _artifacts.Add((id, output), _artifacts.Count);
            }
        }

        // Every consuming task counts once per artifact; publishing a final output counts as one more consumer.
        _consumersLeft = new int[_artifacts.Count];
        foreach (var id in plan.TaskIds())
        {
            var consumed = plan.GetTask(id).Inputs
                .Where(i => i.Task is not null)
                .Select(i => (i.Task!.Value, i.Output!))
                .Distinct()
                .ToArray();
            _consumes[Graph.IndexOf(id)] = consumed;
            foreach (var artifact in consumed)
            {
                _consumersLeft[_artifacts[artifact]]++;
            }
        }

        foreach (var output in plan.Outputs)
        {
            _consumersLeft[_artifacts[(output.Task, output.Output)]]++;
        }

        // Only executors whose attempts run under this driver can start a backup of one task (a pod runs a shard).
        Speculator = options.Speculation.Enabled && options.Executor.CanSpeculate ? new Speculator(plan, options.Speculation, options.TimeProvider) { Logger = telemetry.Logger } : null;
        Runner = new TaskRunner(job, plan, store, options, counters, GetCommittedAsync, committer.CommitAsync, collector.DiscardAsync)
        {
            Speculator = Speculator,
            RunningChanged = (id, running) =>
            {
                if (running)
                {
                    progress.TaskRunning(id.Stage);
                }
                else
                {
                    progress.TaskIdle(id.Stage);
                }
            },
            Slots = new SemaphoreSlim(options.Concurrency, options.Concurrency),
            // The slots' rows join the report when the first task runs in this process (the local executor's way).
            SlotRows = new SlotPool(() => telemetry.Recorder.Rows("slot", options.Concurrency)),
            Recorder = telemetry.Recorder,
            Failures = telemetry.Failures,
            Spans = telemetry.Spans,
            Logger = telemetry.Logger,
        };
    }

    public DagGraph Graph { get; }

    /// <summary>The run's report recorder, stage spans and logger.</summary>
    public RunTelemetry Telemetry { get; }

    public TaskRunner Runner { get; }

    /// <summary>Starts backup attempts of straggling tasks, when speculation is on (see <see cref="SpeculationOptions"/>).</summary>
    public Speculator? Speculator { get; }

    /// <summary>The marker <paramref name="id"/> committed with in this session (replayed or run), or <see langword="null"/>.</summary>
    public CommitMarker? CommittedMarker(TaskId id) => Volatile.Read(ref _markers[Graph.IndexOf(id)]);

    /// <summary>Which tasks (by graph index) are done: committed in an earlier driver of the run or in this one, and not set aside since.</summary>
    public bool[] Done { get; }

    /// <summary>Tasks found committed by an earlier driver of the run (see <see cref="ReplayAsync"/>), not counting those taken from the cache.</summary>
    public int TasksReplayed { get; private set; }

    /// <summary>Tasks taken from the task cache (by this driver or an earlier one of the run), per stage.</summary>
    public int[] TasksCached { get; }

    /// <summary>The run's use of the task cache; <see langword="null"/> without one.</summary>
    public RunCache? Cache { get; init; }

    /// <summary>Tasks passed over because only tasks taken from the cache read them (see <see cref="PassOverAsync"/>), per stage.</summary>
    public int[] TasksNotNeeded { get; }

    /// <summary>The run's plan.</summary>
    public Plan Plan => _plan;

    /// <summary>Where the run's records are.</summary>
    public RunLayout Layout { get; }

    /// <summary>The run's store.</summary>
    public IObjectStore Store => _store;

    /// <summary>The run's counters.</summary>
    public RunCounters Counters => _counters;

    /// <summary>The run's progress.</summary>
    public RunProgress Progress => _progress;

    /// <summary>
    /// Takes the commits of an earlier driver of this run (a resumed run) as if they had just happened, in stage
    /// order: the tasks count as done, their outputs are held and what they consumed is let go.
    /// </summary>
    /// <returns>Which tasks (by graph index) are done: <see cref="Done"/>.</returns>
    /// <exception cref="InvalidDataException">A marker names a task the plan does not have.</exception>
    public async ValueTask<bool[]> ReplayAsync(IReadOnlyDictionary<TaskId, CommitMarker> committed, CancellationToken cancellationToken)
    {
        var done = Done;
        foreach (var (id, marker) in committed.OrderBy(c => c.Key.Stage).ThenBy(c => c.Key.Index))
        {
            if (id.Stage >= _plan.Stages.Count || id.Index >= _plan.Stages[id.Stage].Tasks.Count)
            {
                throw new InvalidDataException($"run '{_plan.RunId}' has a commit record of task {id}, which its plan does not have");
            }

            done[Graph.IndexOf(id)] = true;
            await CommittedAsync(id, marker, replayed: true, cancellationToken).ConfigureAwait(false);
            if (marker.CachedFrom is not null)
            {
                Telemetry.Recorder.TaskCached(id.Stage, id.Index);
                TasksCached[id.Stage]++;
            }
            else
            {
                Telemetry.Recorder.TaskSkipped(id.Stage);
                TasksReplayed++;
            }
        }

        return done;
    }

    /// <summary>
    /// Counts <paramref name="tasks"/> as done without a commit: the task cache found that only tasks taken from it read
    /// their outputs. What they would have read is let go, as a commit would. Call after <see cref="ReplayAsync"/>.
    /// Should one of their readers have to run after all, <see cref="RepairAsync"/> brings them back first.
    /// </summary>
    public async ValueTask PassOverAsync(IReadOnlyList<TaskId> tasks, CancellationToken cancellationToken)
    {
        foreach (var id in tasks)
        {
            var index = Graph.IndexOf(id);
            Volatile.Write(ref Done[index], true);
            Volatile.Write(ref _passedOver[index], 1);
            TasksNotNeeded[id.Stage]++;
            _progress.TaskCommitted(id.Stage);
            if (Interlocked.Exchange(ref _consumedReleased[index], 1) == 0)
            {
                foreach (var artifact in _consumes[index])
                {
                    await ConsumedAsync(artifact, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        foreach (var stage in tasks.GroupBy(t => t.Stage))
        {
            Telemetry.Recorder.TasksNotNeeded(stage.Key, stage.Count());
        }
    }

    /// <summary>Runs one task in this process and records its commit.</summary>
    public async ValueTask RunTaskAsync(TaskId id, CancellationToken cancellationToken)
    {
        CommitMarker marker;
        try
        {
            marker = await Runner.RunAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (ex is TaskFailedException)
            {
                Telemetry.Spans?.TaskDone(id.Stage);
            }

            throw;
        }

        await CommittedAsync(id, marker, replayed: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records that <paramref name="id"/> committed with <paramref name="marker"/>, and collects what that frees.</summary>
    public async ValueTask CommittedAsync(TaskId id, CommitMarker marker, bool replayed, CancellationToken cancellationToken)
    {
        var index = Graph.IndexOf(id);
        Volatile.Write(ref _markers[index], marker);
        Volatile.Write(ref Done[index], true);

        // Hold the new outputs' objects before releasing the inputs, so that bytes a new reference points at are
        // never collected in between.
        var again = Volatile.Read(ref _wasSetAside[index]);
        if (again)
        {
            Recommitted(index);
        }
        ExceptionDispatchInfo? cancelled = null;
        Cache?.Keep(marker);
        foreach (var output in marker.Outputs)
        {
            if (again)
            {
                // A commit set aside still holds what its outputs were made of; the new commit takes over.
                var replaced = await CatchCancellationAsync(_collector.ReplaceAsync(Holder(id, output.Name), output.AsSegments().Select(s => s.Key), cancellationToken)).ConfigureAwait(false);
                cancelled ??= replaced;
            }
            else
            {
                _collector.Hold(Holder(id, output.Name), output.AsSegments().Select(s => s.Key));
            }
        }

        // The task has committed whatever happens now: count it, and let go of everything it consumed even when the
        // run is being cancelled (a release whose delete cannot be queued any more is left to the sweep at the end;
        // one that is skipped would keep its objects held, and so left behind).
        if (!replayed && marker.Failed is null)
        {
            _counters.TaskCommitted(_plan.Stages[id.Stage].Name);
        }

        _progress.TaskCommitted(id.Stage);
        Telemetry.Spans?.TaskDone(id.Stage);
        foreach (var output in marker.Outputs)
        {
            if (_consumersLeft[_artifacts[(id, output.Name)]] == 0)
            {
                var released = await CatchCancellationAsync(_collector.ReleaseAsync(Holder(id, output.Name), cancellationToken)).ConfigureAwait(false);
                cancelled ??= released;
            }
        }

        // What the task consumed is let go once: a task that runs again after its commit was set aside consumed it
        // again (the set-aside gave it back), and must not let go of it twice.
        if (Interlocked.Exchange(ref _consumedReleased[index], 1) == 0)
        {
            foreach (var artifact in _consumes[index])
            {
                var consumed = await CatchCancellationAsync(ConsumedAsync(artifact, cancellationToken)).ConfigureAwait(false);
                cancelled ??= consumed;
            }
        }

        cancelled?.Throw();
    }

    private static async ValueTask<ExceptionDispatchInfo?> CatchCancellationAsync(ValueTask release)
    {
        try
        {
            await release.ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException ex)
        {
            return ExceptionDispatchInfo.Capture(ex);
        }
    }

    private async ValueTask<CommitMarker> GetCommittedAsync(TaskId id, CancellationToken cancellationToken)
    {
        var index = Graph.IndexOf(id);
        if (Volatile.Read(ref _markers[index]) is { } marker)
        {
            return marker;
        }

        // Set aside by a repair after the reader was started: it commits again soon.
        if (_recommits.TryGetValue(index, out var recommitted))
        {
            await recommitted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return Volatile.Read(ref _markers[index]) ?? throw new InvalidOperationException($"task {id} is read before it has committed");
    }

    private ValueTask ConsumedAsync((TaskId Task, string Output) artifact, CancellationToken cancellationToken) =>
        Interlocked.Decrement(ref _consumersLeft[_artifacts[artifact]]) == 0
            ? _collector.ReleaseAsync(Holder(artifact.Task, artifact.Output), cancellationToken)
            : ValueTask.CompletedTask;

    private static string Holder(TaskId task, string output) => $"{task}:{output}";
}

/// <summary>What a run records besides its counters: the report, its spans (when traced), its log and its failure records.</summary>
/// <param name="Recorder">The run report's recorder.</param>
/// <param name="Spans">The stage spans, or <see langword="null"/> when nothing listens for spans.</param>
/// <param name="Logger">The run's logger.</param>
internal sealed record RunTelemetry(RunRecorder Recorder, StageSpans? Spans, Microsoft.Extensions.Logging.ILogger Logger)
{
    /// <summary>Where failed attempts are recorded in the store as they fail, if anywhere.</summary>
    public FailureRecorder? Failures { get; init; }
}
