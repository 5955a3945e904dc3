using System.Diagnostics;
using Dataflow.Core;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// One run as a <see cref="TaskExecutor"/> sees it: the plan and store, which tasks have committed, and the calls
/// through which the executor runs tasks in this process or takes in the commits of tasks that ran elsewhere. The
/// <see cref="JobRunner"/> does the rest with what is reported here: progress, garbage collection, the run report,
/// metrics and the summary.
/// </summary>
public sealed class TaskExecution
{
    private readonly RunSession _session;
    private readonly SchedulerLoad _load;

    /// <summary>
    /// How many times one task may find the same object lost before it fails: an object made again and lost again
    /// at once (a store that keeps damaging it) will not get better.
    /// </summary>
    private const int MaxRepairsOfOneObject = 2;

    private Func<TaskId, CancellationToken, ValueTask>? _runTask;

    private readonly Func<CancellationToken, Task> _leaseConfirmed;

    internal TaskExecution(RunSession session, JobRunnerOptions options, string planUri, SchedulerLoad load, Func<CancellationToken, Task> leaseConfirmed)
    {
        _leaseConfirmed = leaseConfirmed;
        _session = session;
        _load = load;
        Options = options;
        PlanUri = planUri;
    }

    /// <summary>The run's plan.</summary>
    public Plan Plan => _session.Plan;

    /// <summary>The run's store.</summary>
    public IObjectStore Store => _session.Store;

    /// <summary>The address of the stored plan: all a worker process or pod needs to find the run (see <c>worker --plan</c>).</summary>
    public string PlanUri { get; }

    /// <summary>The runner's options: concurrency, attempts, retry delay, task timeout, clock.</summary>
    public JobRunnerOptions Options { get; }

    /// <summary>The run's progress, for a display.</summary>
    public RunProgress Progress => _session.Progress;

    /// <summary>Where the run logs.</summary>
    public ILogger Logger => _session.Telemetry.Logger;

    /// <summary>Which tasks (by graph index) are done: committed before this executor started, or since.</summary>
    internal bool[] Done => _session.Done;

    internal RunSession Session => _session;

    /// <summary>The scheduler's live load: tasks ready and waiting for a worker of it.</summary>
    internal SchedulerLoad Load => _load;

    /// <summary>
    /// Waits until the run's lease is known to be this driver's (a driver that started at the same moment on the same
    /// run may have taken it). Tasks committed in this process wait for it by themselves; an executor whose workers
    /// commit on their own (processes, pods) starts them after it, so that a driver that lost the lease commits nothing.
    /// </summary>
    /// <exception cref="RunLeaseException">Another driver took the lease.</exception>
    public Task WhenLeaseConfirmedAsync(CancellationToken cancellationToken) => _leaseConfirmed(cancellationToken);

    /// <summary>True when <paramref name="task"/> has committed (in an earlier driver of the run, or in this one).</summary>
    public bool IsCommitted(TaskId task) => Done[_session.Graph.IndexOf(task)];

    /// <summary>
    /// Runs every task that has not committed, each as soon as the tasks it reads have committed (there is no stage
    /// barrier), at most <paramref name="maxInFlight"/> at once. The first task that fails cancels the others and
    /// its exception is rethrown — unless the run's failure budget (<see cref="JobRunnerOptions.MaxFailedInputs"/>)
    /// tolerates it: then the driver commits the task as failed, with empty outputs, and its readers go on. A task that finds a committed input missing or failing verification does not fail:
    /// the commits that hold those bytes are set aside, their tasks run again through <paramref name="runTask"/>, and
    /// then the task does.
    /// </summary>
    /// <param name="maxInFlight">Tasks in flight at once.</param>
    /// <param name="runTask">Runs one task and returns once it has committed and its commit was reported here.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public async Task RunWhenReadyAsync(int maxInFlight, Func<TaskId, CancellationToken, ValueTask> runTask, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runTask);
        var graph = _session.Graph;
        _runTask = runTask;
        try
        {
            await DagScheduler.RunAsync(graph, Done, maxInFlight, (index, token) => RunRepairingAsync(graph.IdOf(index), token), cancellationToken, _load).ConfigureAwait(false);
        }
        finally
        {
            // The executor's way of running a task may end with its execution (the process executor closes its pool of
            // workers): a repair after it — a final output found lost before publishing — runs the task here.
            _runTask = null;

            // Attempts that lost their race were cancelled; nothing of the run may go on after the executor returns.
            if (_session.Speculator is { } speculator)
            {
                await speculator.DrainAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Makes the object of <paramref name="lost"/> good again (see <see cref="RunWhenReadyAsync"/>), with the task
    /// runner the executor gave; false when nothing can (a job input changed).
    /// </summary>
    internal Task<bool> RepairAsync(InputLostException lost, CancellationToken cancellationToken) =>
        _session.RepairAsync(lost, RunRepairingAsync, cancellationToken);

    private async ValueTask RunRepairingAsync(TaskId task, CancellationToken cancellationToken)
    {
        // A task may find several of its inputs lost, one after another (all of them, after gc): each is made again once.
        Dictionary<string, int>? repaired = null;
        for (var attempts = 1; ; attempts++)
        {
            try
            {
                await _session.WhenInputsCommittedAsync(task, cancellationToken).ConfigureAwait(false);
                await (_runTask ?? RunInProcessAsync)(task, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (InputLostException.Find(ex) is { } lost && !cancellationToken.IsCancellationRequested)
            {
                repaired ??= new Dictionary<string, int>(StringComparer.Ordinal);
                var times = repaired[lost.ObjectKey] = repaired.GetValueOrDefault(lost.ObjectKey) + 1;
                if (times > MaxRepairsOfOneObject || !await RepairAsync(lost, cancellationToken).ConfigureAwait(false))
                {
                    TaskFailed(task.Stage);
                    throw ex is TaskFailedException ? ex : new TaskFailedException(Plan, task, attempts, lost, permanent: false);
                }
            }
            catch (TaskFailedException failed) when (!cancellationToken.IsCancellationRequested && _session.MayTolerate(task))
            {
                // A map task that failed for good, in a run with a failure budget: the driver commits it as failed
                // (empty outputs) and its readers go on, unless the budget is spent — then it fails the run as ever.
                if (await _session.TryTolerateAsync(task, failed, cancellationToken).ConfigureAwait(false) is { } spent)
                {
                    throw failed.WithNote(spent);
                }

                return;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="task"/> in this process, with the runner's retries and timeout, and records its commit:
    /// what the local executor does for every task.
    /// </summary>
    /// <exception cref="TaskFailedException">The task failed on every attempt.</exception>
    public async ValueTask RunInProcessAsync(TaskId task, CancellationToken cancellationToken)
    {
        await _session.RunTaskAsync(task, cancellationToken).ConfigureAwait(false);
        MarkDone(task);
    }

    /// <summary>
    /// Reads the commit of <paramref name="task"/> from the store, as a worker process or pod committed it (the
    /// winning attempt, if several committed), or <see langword="null"/> when it has not committed.
    /// </summary>
    public async ValueTask<TaskCommit?> FindCommitAsync(TaskId task, CancellationToken cancellationToken)
    {
        var marker = await CommitIndex.FindAsync(_session.Store, _session.Layout, task, cancellationToken).ConfigureAwait(false);
        return marker is null ? null : new TaskCommit(marker);
    }

    /// <summary>
    /// Reads the commits of tasks <paramref name="first"/> to <paramref name="last"/> of <paramref name="stage"/>, a
    /// shard that a pod ran, from the shard records its pods wrote (<c>worker --shard-size</c>): one listing and,
    /// usually, one read for the whole shard, where <see cref="FindCommitAsync"/> takes a listing and a read per task.
    /// A task the records do not hold (a pod of an earlier build, a record that could not be stored) is not in the
    /// result: read it with <see cref="FindCommitAsync"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">A shard record is damaged or belongs to another run.</exception>
    public async ValueTask<ShardCommits> FindShardCommitsAsync(int stage, int first, int last, CancellationToken cancellationToken)
    {
        var records = await CommitIndex.ReadShardAsync(_session.Store, _session.Layout, stage, first, last, cancellationToken).ConfigureAwait(false);
        var failed = records.SelectMany(r => r.Shard?.Failed ?? []).CountBy(t => t).ToDictionary();
        var attempts = records.SelectMany(r => r.Markers).Select(m => (m.Task, m.AttemptId)).Distinct().CountBy(c => c.Task).ToDictionary();
        var winners = CommitIndex.Winners(records);
        var commits = winners
            .Where(w => w.Key.Stage == stage && w.Key.Index >= first && w.Key.Index <= last)
            .OrderBy(w => w.Key.Index)
            .Select(w => new TaskCommit(w.Value, attempts[w.Key] + failed.GetValueOrDefault(w.Key)))
            .ToList();
        var uncommitted = failed.Keys
            .Where(t => !winners.ContainsKey(t))
            .Order()
            .Select(t => new ShardFailure(t, failed[t], records.Any(r => r.Shard is { Permanent: true } shard && shard.Failed.Contains(t))))
            .ToList();
        return new ShardCommits(commits, records.Length, records.Count(r => r.Shard?.Failed.Count > 0)) { Failed = uncommitted };
    }

    /// <summary>
    /// Takes in a commit found with <see cref="FindCommitAsync"/> or <see cref="FindShardCommitsAsync"/>: the task
    /// counts as done, its outputs are held for the tasks that read them, and what it consumed may be collected.
    /// </summary>
    public async ValueTask CommittedAsync(TaskCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        MarkDone(commit.Task);
        await _session.CommittedAsync(commit.Task, commit.Marker, replayed: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until the tasks <paramref name="task"/> reads have committed again, if a repair set one of them aside
    /// after <paramref name="task"/> was started: an executor whose workers read commits from the store calls it before
    /// each attempt.
    /// </summary>
    internal ValueTask WhenInputsCommittedAsync(TaskId task, CancellationToken cancellationToken) =>
        _session.WhenInputsCommittedAsync(task, cancellationToken);

    /// <summary>Counts an attempt of a task of stage <paramref name="stage"/> that starts now (a retry when <paramref name="isRetry"/>).</summary>
    public void AttemptStarted(int stage, bool isRetry) =>
        _session.Counters.AttemptStarted(Plan.Stages[stage].Name, isRetry);

    /// <summary>Shows a task of stage <paramref name="stage"/> as running on the progress display: it has its worker process or pod now.</summary>
    public void TaskRunning(int stage) => _session.Progress.TaskRunning(stage);

    /// <summary>Shows a task of stage <paramref name="stage"/> as no longer running: its worker process or pod is done with it.</summary>
    public void TaskIdle(int stage) => _session.Progress.TaskIdle(stage);

    /// <summary>Counts a task of stage <paramref name="stage"/> as failed for good, before its <see cref="TaskFailedException"/> is thrown.</summary>
    public void TaskFailed(int stage)
    {
        _session.Counters.TaskFailed(Plan.Stages[stage].Name);
        _session.Telemetry.Recorder.TaskFailed(stage);
    }

    /// <summary>Adds bytes that tasks read and wrote outside this process to the run's totals.</summary>
    public void AddBytes(long read, long written)
    {
        _session.Counters.AddRead(read);
        _session.Counters.AddWritten(written);
    }

    /// <summary>Adds store requests that workers outside this process retried to the run's total (they published their own metrics).</summary>
    public void AddStoreRetries(long requests) => _session.Counters.AddStoreRetries(requests, publish: false);

    /// <summary>Milliseconds since the run started, on the run report's clock.</summary>
    public double ReportNow => _session.Telemetry.Recorder.Now;

    /// <summary>When the run started, on the run report's clock.</summary>
    public DateTimeOffset ReportStartedAt => _session.Telemetry.Recorder.StartedAt;

    /// <summary>The run report's timeline row named <paramref name="name"/> (a worker or pod), added on first use.</summary>
    public int ReportRow(string name) => _session.Telemetry.Recorder.Row(name);

    /// <summary>Adds <paramref name="count"/> rows named <paramref name="prefix"/> 1…n to the run report; returns the first.</summary>
    public int ReportRows(string prefix, int count) => _session.Telemetry.Recorder.Rows(prefix, count);

    /// <summary>Adds one attempt of <paramref name="task"/> (a bar on its row) to the run report.</summary>
    /// <param name="task">The task.</param>
    /// <param name="attempt">The attempt's number, from 1.</param>
    /// <param name="row">The timeline row it ran on (see <see cref="ReportRow"/>).</param>
    /// <param name="startMs">When it started, on <see cref="ReportNow"/>'s clock.</param>
    /// <param name="endMs">When it ended.</param>
    /// <param name="outcome">How it ended.</param>
    /// <param name="bytesRead">Bytes it read, when the executor knows.</param>
    /// <param name="bytesWritten">Bytes it wrote, when the executor knows.</param>
    /// <param name="error">Why it failed, when it did.</param>
    /// <remarks>
    /// A failed attempt is also stored as a failure record of the run as it fails (what a live view of the run shows),
    /// naming the row's worker.
    /// </remarks>
    public void RecordAttempt(TaskId task, int attempt, int row, double startMs, double endMs, AttemptOutcome outcome, long bytesRead = 0, long bytesWritten = 0, string? error = null) =>
        RecordMeasuredAttempt(task, attempt, row, startMs, endMs, outcome, bytesRead, bytesWritten, error, resources: null);

    /// <summary>
    /// Adds a task's committed attempt to the run report as its commit states it: its bytes and what it used (see
    /// <see cref="TaskCommit.Resources"/>), on <paramref name="row"/> from <paramref name="startMs"/> to <paramref name="endMs"/>.
    /// </summary>
    public void RecordCommittedAttempt(TaskCommit commit, int row, double startMs, double endMs)
    {
        ArgumentNullException.ThrowIfNull(commit);
        RecordMeasuredAttempt(commit.Task, commit.Attempt, row, startMs, endMs, AttemptOutcome.Committed, commit.BytesRead, commit.BytesWritten, error: null, commit.Resources);
    }

    /// <summary>Adds one attempt to the run report as <see cref="RecordAttempt"/> does, with what it used.</summary>
    internal void RecordMeasuredAttempt(TaskId task, int attempt, int row, double startMs, double endMs, AttemptOutcome outcome, long bytesRead, long bytesWritten, string? error, ResourceUse? resources)
    {
        Report(task, attempt, row, startMs, endMs, outcome, bytesRead, bytesWritten, error, resources);
        if (outcome == AttemptOutcome.Failed && _session.Telemetry.Failures is { } failures)
        {
            var recorder = _session.Telemetry.Recorder;
            failures.Add(new FailureRecord
            {
                Task = task,
                Attempt = attempt,
                Worker = recorder.RowName(row),
                StartedAt = recorder.StartedAt + TimeSpan.FromMilliseconds(startMs),
                EndedAt = recorder.StartedAt + TimeSpan.FromMilliseconds(endMs),
                Error = error ?? "the attempt failed",
            });
        }
    }

    /// <summary>
    /// Adds one failed attempt of <paramref name="task"/> to the run report, as <see cref="RecordAttempt"/> does, and
    /// stores its failure record with what the executor knows of it: the error it caught, whether it is permanent, the
    /// worker that ran it and the attempt's id.
    /// </summary>
    internal void RecordFailedAttempt(TaskId task, int attempt, int row, double startMs, Exception error, bool permanent, string? worker, string? attemptId, long bytesRead, long bytesWritten, ResourceUse? resources = null, bool speculative = false)
    {
        var endMs = ReportNow;
        Report(task, attempt, row, startMs, endMs, AttemptOutcome.Failed, bytesRead, bytesWritten, error.Message, resources, speculative);
        var startedAt = _session.Telemetry.Recorder.StartedAt;
        _session.Telemetry.Failures?.Add(FailureRecord.Of(task, attempt, attemptId, worker, startedAt + TimeSpan.FromMilliseconds(startMs), startedAt + TimeSpan.FromMilliseconds(endMs), error, permanent));
    }

    /// <summary>Adds an attempt that did not fail to the run report, as <see cref="RecordAttempt"/> does, marked as a backup attempt when <paramref name="speculative"/>.</summary>
    internal void RecordRacedAttempt(TaskId task, int attempt, int row, double startMs, double endMs, AttemptOutcome outcome, long bytesRead, long bytesWritten, string? error, bool speculative, ResourceUse? resources = null) =>
        Report(task, attempt, row, startMs, endMs, outcome, bytesRead, bytesWritten, error, resources, speculative);

    private void Report(TaskId task, int attempt, int row, double startMs, double endMs, AttemptOutcome outcome, long bytesRead, long bytesWritten, string? error, ResourceUse? resources, bool speculative = false) =>
        _session.Telemetry.Recorder.Attempt(new AttemptReport
        {
            Stage = task.Stage,
            Task = task.Index,
            Attempt = attempt,
            Row = row,
            StartMs = startMs,
            EndMs = endMs,
            Outcome = outcome switch
            {
                AttemptOutcome.Committed => AttemptOutcomes.Committed,
                AttemptOutcome.Failed => AttemptOutcomes.Failed,
                _ => AttemptOutcomes.Cancelled,
            },
            BytesRead = bytesRead,
            BytesWritten = bytesWritten,
            Error = error,
            Resources = resources,
            Speculative = speculative ? true : null,
        });

    /// <summary>Starts the span of one attempt of <paramref name="task"/>, under its stage's span; <see langword="null"/> when nothing listens.</summary>
    public Activity? StartTaskSpan(TaskId task, int attempt) => _session.Telemetry.Spans?.StartTask(task, attempt);

    private void MarkDone(TaskId task) => Volatile.Write(ref Done[_session.Graph.IndexOf(task)], true);
}
