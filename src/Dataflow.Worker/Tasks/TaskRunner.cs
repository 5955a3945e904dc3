using System.Runtime.CompilerServices;
using Dataflow.Core;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Worker;

/// <summary>
/// Runs tasks of one plan in this process: resolves a task's inputs, runs its operator under the retry and timeout
/// policy, and commits the attempt by writing its marker last. A failed attempt's outputs are discarded.
/// </summary>
internal sealed partial class TaskRunner
{
    private readonly Job _job;
    private readonly Plan _plan;
    private readonly RunLayout _layout;
    private readonly int _openInputs;
    private readonly IObjectStore _store;
    private readonly RunCounters _counters;
    private readonly Func<IEnumerable<string>, CancellationToken, ValueTask> _discard;
    private readonly Func<TaskId, CancellationToken, ValueTask<CommitMarker>> _committed;
    private readonly Func<CommitMarker, Task> _commit;
    private readonly TaskRetry<CommitMarker> _retry;
    private readonly TimeProvider _time;
    private readonly Dictionary<TaskId, HashSet<string>> _finalOutputs;
    private readonly Dictionary<TaskId, Dictionary<string, string>> _stagedOutputs;
    private readonly Dictionary<string, PlanInput> _planInputs;

    // What the runner looks up in a plan, made once per plan: a pooled worker makes a runner for each task it is
    // handed, and a plan of thousands of inputs would otherwise be indexed again for each.
    private static readonly ConditionalWeakTable<Plan, PlanLookups> s_lookups = [];

    /// <param name="job">The job whose operators the tasks run.</param>
    /// <param name="plan">The plan.</param>
    /// <param name="store">The run's store.</param>
    /// <param name="options">Attempts, back-off, timeout and clock.</param>
    /// <param name="counters">Where bytes and attempts are counted.</param>
    /// <param name="committed">Finds the winning commit marker of a producing task.</param>
    /// <param name="commit">Stores an attempt's marker; the attempt has committed when it returns.</param>
    /// <param name="discard">Takes the keys of a failed attempt's outputs, to delete them.</param>
    public TaskRunner(
        Job job,
        Plan plan,
        IObjectStore store,
        JobRunnerOptions options,
        RunCounters counters,
        Func<TaskId, CancellationToken, ValueTask<CommitMarker>> committed,
        Func<CommitMarker, Task> commit,
        Func<IEnumerable<string>, CancellationToken, ValueTask> discard)
    {
        _job = job;
        _plan = plan;
        _layout = RunLayout.Of(plan);
        _store = store;
        _counters = counters;
        _committed = committed;
        _commit = commit;
        _discard = discard;
        _time = options.TimeProvider;
        _retry = new TaskRetry<CommitMarker>(options, isPermanent: job.IsPermanentFailure);
        var lookups = s_lookups.GetValue(plan, static p => new PlanLookups(p));
        _planInputs = lookups.Inputs;
        _finalOutputs = lookups.FinalOutputs;
        _stagedOutputs = store.CanStage ? lookups.StagedOutputs : [];

        // Half of the store's concurrent reads shared by the tasks that run at once (the other half for writes and
        // records): tasks that each hold many inputs open can then never all wait for a connection another holds.
        _openInputs = store.MaxConcurrentReads is { } reads ? Math.Max(2, reads / (2 * Math.Max(1, options.Concurrency))) : int.MaxValue;
    }

    /// <summary>Called when an attempt starts, with the task and the attempt number.</summary>
    public Action<TaskId, int>? AttemptStarted { get; init; }

    /// <summary>
    /// Limits how many operators run at once, if set. A slot is held while inputs are read and outputs written, and
    /// given up before the commit, so that tasks waiting for their commit record do not keep others from working.
    /// </summary>
    public SemaphoreSlim? Slots { get; init; }

    /// <summary>Told when an attempt starts running (it took its slot: <see langword="true"/>) and when it stops (it gave the slot up).</summary>
    public Action<TaskId, bool>? RunningChanged { get; init; }

    /// <summary>The name this runner's commit markers give as their worker (see <see cref="CommitMarker.Worker"/>); none by default.</summary>
    public string? WorkerName { get; init; }

    /// <summary>The number of the first attempt this runner makes (a worker process told it is a retry starts higher).</summary>
    public int FirstAttempt { get; init; } = 1;

    /// <summary>Where each attempt is recorded for the run report, if set.</summary>
    public RunRecorder? Recorder { get; init; }

    /// <summary>Where each failed attempt is recorded in the store as it fails, if set (the driver's runner).</summary>
    public FailureRecorder? Failures { get; init; }

    /// <summary>Numbers the slots (timeline rows) attempts run on, if set; used with <see cref="Slots"/>.</summary>
    public SlotPool? SlotRows { get; init; }

    /// <summary>The run's stage spans, if the run is traced (task spans are their children).</summary>
    public StageSpans? Spans { get; init; }

    /// <summary>Where failed attempts and retries are logged.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Runs the task until an attempt commits or the attempts run out.</summary>
    /// <exception cref="TaskFailedException">Every attempt failed.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public async ValueTask<CommitMarker> RunAsync(TaskId id, CancellationToken cancellationToken)
    {
        var task = _plan.GetTask(id);
        var stage = _plan.Stages[id.Stage].Name;
        var attempt = FirstAttempt - 1;
        using var scope = Logger.BeginScope(new LogScope("Stage", stage, "Task", id.ToString()));
        var race = Speculator is null ? null : new CommitRace(id, attempt, r => StartBackup((CommitRace)r, task, stage), cancellationToken);
        try
        {
            async ValueTask<CommitMarker> AttemptAsync(CancellationToken token)
            {
                attempt = race?.NextAttempt() ?? attempt + 1;
                _counters.AttemptStarted(stage, isRetry: attempt > FirstAttempt);
                AttemptStarted?.Invoke(id, attempt);
                return await RunAttemptAsync(id, task, attempt, token, race).ConfigureAwait(false);
            }

            return race is null
                ? await _retry.ExecuteAsync(AttemptAsync, cancellationToken).ConfigureAwait(false)
                : await RaceAsync(race, AttemptAsync).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested) && ex is not InputLostException)
        {
            _counters.TaskFailed(stage);
            Recorder?.TaskFailed(id.Stage);
            var failed = new TaskFailedException(_plan, id, (race?.Attempts ?? attempt) - FirstAttempt + 1, ex, _retry.IsPermanent(ex));
            Log.TaskFailed(Logger, failed.Message, ex);
            throw failed;
        }
    }

    private async Task<CommitMarker> RunAttemptAsync(TaskId id, PlanTask task, int attempt, CancellationToken cancellationToken, CommitRace? race = null, bool speculative = false)
    {
        var started = _time.GetTimestamp();
        var startedAt = _time.GetUtcNow();
        var attemptId = RunLayout.NewAttemptId(attempt);
        using var span = Spans?.StartTask(id, attempt);
        var counters = _counters.ForAttempt();
        var requests = new StoreRequestCounts();
        using var requestScope = StoreRequests.Begin(requests);
        var meter = MeasuresProcess ? ProcessMeter.Start() : null;
        var row = SlotRows?.FirstRow ?? 0;
        var (startMs, endMs) = (double.NaN, double.NaN);
        TaskContext? context = null;
        try
        {
            var op = _job.ResolveOperator(task.Operator);
            var (inputs, consumed) = await ResolveInputsAsync(task, counters, cancellationToken).ConfigureAwait(false);
            context = new TaskContext(
                _job.Name, id, attempt, attemptId, inputs, task.Outputs,
                _finalOutputs.TryGetValue(id, out var finals) ? finals : (IReadOnlySet<string>)new HashSet<string>(),
                _stagedOutputs.GetValueOrDefault(id),
                _store, _layout, counters)
            {
                OpenInputs = _openInputs,
            };
            IReadOnlyList<CommittedOutput> outputs;
            if (Slots is { } slots)
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);

                // The marker's duration is how long the attempt ran, not how long it waited for a slot.
                started = _time.GetTimestamp();
            }

            var running = false;
            try
            {
                RunningChanged?.Invoke(id, running = true);
                if (!speculative)
                {
                    race?.Running(true, started);
                }

                row = SlotRows?.Take() ?? row;
                startMs = Recorder?.Now ?? 0;
                await op.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
                outputs = await context.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // The slot is given up before the commit (see Slots), so the attempt's bar ends here too: bars of
                // one slot never overlap.
                endMs = Recorder?.Now ?? 0;
                SlotRows?.Return(row);
                Slots?.Release();
                if (running)
                {
                    RunningChanged?.Invoke(id, false);
                    if (!speculative)
                    {
                        race?.Running(false, 0);
                    }
                }
            }

            var marker = new CommitMarker
            {
                Task = id,
                AttemptId = attemptId,
                Attempt = attempt,
                Worker = WorkerName,
                CommittedAt = _time.GetUtcNow(),
                DurationMs = (long)_time.GetElapsedTime(started).TotalMilliseconds,
                Outputs = outputs,
                Consumed = consumed,
                BytesRead = counters.BytesRead,
                BytesWritten = counters.BytesWritten,
                Resources = MarkerResources(meter, requests),
            };

            // The commit point: once the marker is stored, the attempt's outputs are the task's. Of attempts that race
            // (a backup beside a straggler), only the first to claim the commit writes one.
            if (race is not null && !await race.ClaimAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new OperationCanceledException(race.Superseded, null, cancellationToken);
            }

            await CommitAsync(marker, race, speculative).ConfigureAwait(false);
            _counters.AttemptSucceeded(_plan.Stages[id.Stage].Name, _time.GetElapsedTime(started));
            Speculator?.Committed(id.Stage, _time.GetElapsedTime(started));
            Record(id, attempt, row, startMs, endMs, AttemptOutcomes.Committed, counters, error: null, Ended(meter, requests), speculative);
            return marker;
        }
        catch (Exception ex)
        {
            if (context is not null)
            {
                await context.AbortAsync().ConfigureAwait(false);
                await _discard(context.WrittenKeys, CancellationToken.None).ConfigureAwait(false);
            }

            // An attempt that lost its race is cancelled, whatever it hit on its way out (its inputs may be collected).
            var cancelled = (ex is OperationCanceledException && cancellationToken.IsCancellationRequested) || (race?.Winner > 0 && race.Winner != attempt);
            Record(id, attempt, row, startMs, endMs, cancelled ? AttemptOutcomes.Cancelled : AttemptOutcomes.Failed, counters, cancelled ? (race?.Winner > 0 ? race.Superseded : null) : ex.Message, Ended(meter, requests), speculative);
            if (!cancelled)
            {
                DataflowTracing.Fail(span, ex);
                Log.AttemptFailed(Logger, attempt, ex.Message, ex);
                Failures?.Add(FailureRecord.Of(id, attempt, attemptId, WorkerName, startedAt, _time.GetUtcNow(), ex, _retry.IsPermanent(ex)));
            }

            throw;
        }
    }

    private void Record(TaskId id, int attempt, int row, double startMs, double endMs, string outcome, RunCounters counters, string? error, ResourceUse resources, bool speculative = false)
    {
        if (Recorder is not { } recorder)
        {
            return;
        }

        // An attempt that failed before it had a slot (its inputs could not be resolved) is a point in time.
        var now = recorder.Now;
        startMs = double.IsNaN(startMs) ? now : startMs;
        recorder.Attempt(new AttemptReport
        {
            Stage = id.Stage,
            Task = id.Index,
            Attempt = attempt,
            Row = row,
            StartMs = startMs,
            EndMs = double.IsNaN(endMs) ? now : endMs,
            Outcome = outcome,
            BytesRead = counters.BytesRead,
            BytesWritten = counters.BytesWritten,
            Error = error,
            Resources = resources,
            Speculative = speculative ? true : null,
        });
    }

    private async ValueTask<(StoreInput[] Inputs, ConsumedArtifact[] Consumed)> ResolveInputsAsync(PlanTask task, RunCounters counters, CancellationToken cancellationToken)
    {
        var inputs = new StoreInput[task.Inputs.Count];
        var consumed = new List<ConsumedArtifact>();
        for (var i = 0; i < inputs.Length; i++)
        {
            var input = task.Inputs[i];
            if (input is { Key: { } key, Offset: { } offset, Length: { } length })
            {
                inputs[i] = StoreInput.ForJobInputRange(_store, counters, _planInputs[key], offset, length);
            }
            else if (input.Key is { } wholeKey)
            {
                inputs[i] = StoreInput.ForJobInput(_store, counters, _planInputs[wholeKey]);
            }
            else
            {
                var producer = input.Task!.Value;
                var marker = await _committed(producer, cancellationToken).ConfigureAwait(false);
                inputs[i] = StoreInput.ForCommitted(_store, counters, $"{producer}:{input.Output}", marker.GetOutput(input.Output!));
                consumed.Add(new ConsumedArtifact(producer, input.Output!, marker.AttemptId));
            }
        }

        return (inputs, [.. consumed]);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Attempt {Attempt} failed: {Error}")]
        public static partial void AttemptFailed(ILogger logger, int attempt, string error, Exception exception);

        [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "{Error}")]
        public static partial void TaskFailed(ILogger logger, string error, Exception exception);
    }
}

/// <summary>A plan's inputs by key and its final outputs by task, read-only once made (runners share them).</summary>
internal sealed class PlanLookups
{
    public PlanLookups(Plan plan)
    {
        Inputs = plan.Inputs.DistinctBy(i => i.Key, StringComparer.Ordinal).ToDictionary(i => i.Key, StringComparer.Ordinal);
        foreach (var output in plan.Outputs)
        {
            if (!FinalOutputs.TryGetValue(output.Task, out var names))
            {
                FinalOutputs[output.Task] = names = new HashSet<string>(StringComparer.Ordinal);
            }

            names.Add(output.Output);
        }

        // A final output of the last stage (no task reads it: tasks read earlier stages only), published at one key, can
        // be written at that key and published without a copy. (A worker holds only part of a large plan, so the
        // readers of outputs of earlier stages cannot be looked for here.)
        var last = plan.Stages.Count - 1;
        foreach (var group in plan.Outputs.GroupBy(o => (o.Task, o.Output)))
        {
            if (group.Count() == 1 && group.Key.Task.Stage == last)
            {
                if (!StagedOutputs.TryGetValue(group.Key.Task, out var keys))
                {
                    StagedOutputs[group.Key.Task] = keys = new Dictionary<string, string>(StringComparer.Ordinal);
                }

                keys[group.Key.Output] = group.First().Key;
            }
        }
    }

    /// <summary>The plan's inputs by key.</summary>
    public Dictionary<string, PlanInput> Inputs { get; }

    /// <summary>The names of the final outputs of each task that has any.</summary>
    public Dictionary<TaskId, HashSet<string>> FinalOutputs { get; } = [];

    /// <summary>
    /// The final outputs of each task that a store that stages writes under their final keys (output name to key): those
    /// of the last stage, published at one key.
    /// </summary>
    public Dictionary<TaskId, Dictionary<string, string>> StagedOutputs { get; } = [];
}
