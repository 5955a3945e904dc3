using Dataflow.Core;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// Runs the tasks in a pool of long-lived worker processes of the same program, at most
/// <see cref="JobRunnerOptions.Concurrency"/> of them, each started as <c>&lt;program&gt; worker --plan &lt;uri&gt; --serve</c>
/// when a task first needs it and handed one task at a time over a pipe (<see cref="WorkerProtocol"/>). A task starts
/// when its own dependencies have committed; after a worker reports it committed, its commit record is read from the
/// store and the driver goes on from it. A worker that dies, is killed or passes the task timeout is replaced by a new
/// process and only its task is tried again (a new attempt id); at the end of the run the workers are told to exit.
/// </summary>
internal sealed partial class ProcessExecutor(ProcessExecutorOptions processes) : TaskExecutor
{
    public override string Name => "process";

    /// <inheritdoc/>
    public override bool CanTolerateFailedTasks => true;

    /// <inheritdoc/>
    internal override bool CanSpeculate => true;

    /// <inheritdoc/>
    public override bool DefinesJobFromArguments => true;

    public override void Validate() => processes.Validate();

    public override async Task ExecuteAsync(TaskExecution execution, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        var options = execution.Options;
        var pipeline = new TaskRetry<TaskCommit>(options, timeout: false);
        var rows = new Lazy<int>(() => execution.ReportRows("worker", options.Concurrency), LazyThreadSafetyMode.ExecutionAndPublication);

        // After a failure or cancellation every worker is killed and waited for (when the pool is disposed): one left
        // running could commit after the driver's clean-up. After a run that finished they are idle, and told to exit.
        var pool = new WorkerPool(processes, execution.PlanUri, options.Concurrency);
        await using (pool.ConfigureAwait(false))
        {
            using var speculating = SpeculateOn(execution.Session.Speculator, execution, pool);
            // The workers for the tasks that are ready start while the lease is confirmed: a worker commits nothing
            // before it is handed a task, and starting a .NET process is most of what a short task costs.
            pool.Prestart(Math.Min(options.Concurrency, ReadyTasks(execution)));
            await execution.WhenLeaseConfirmedAsync(cancellationToken).ConfigureAwait(false);

            // Twice as many tasks in flight as workers: while the driver reads one task's commit, the next one is
            // already waiting for the worker that ran it. The pool, not this number, bounds the processes.
            await execution.RunWhenReadyAsync(
                2 * options.Concurrency,
                (id, token) => RunTaskAsync(execution, pipeline, pool, rows, id, token),
                cancellationToken).ConfigureAwait(false);
            await pool.CloseAsync(kill: false).ConfigureAwait(false);
        }
    }

    /// <summary>The tasks that can start now: not committed, and every task they read committed.</summary>
    private static int ReadyTasks(TaskExecution execution)
    {
        var graph = execution.Session.Graph;
        var done = execution.Done;
        var waiting = (int[])graph.DependencyCounts.Clone();
        for (var i = 0; i < graph.Count; i++)
        {
            if (done[i])
            {
                foreach (var d in graph.Dependents[i])
                {
                    waiting[d]--;
                }
            }
        }

        return Enumerable.Range(0, graph.Count).Count(i => !done[i] && waiting[i] == 0);
    }

    private static async ValueTask RunTaskAsync(TaskExecution execution, TaskRetry<TaskCommit> pipeline, WorkerPool pool, Lazy<int> rows, TaskId id, CancellationToken cancellationToken)
    {
        var attempt = 0;
        var plan = execution.Plan;
        var stage = plan.Stages[id.Stage].Name;
        var speculator = execution.Session.Speculator;
        var race = speculator is null ? null : new WorkerRace(id, r => StartBackup(execution, pipeline, pool, rows, (WorkerRace)r), cancellationToken);
        TaskCommit commit;
        try
        {
            async ValueTask<TaskCommit> AttemptAsync(CancellationToken token)
            {
                await execution.WhenInputsCommittedAsync(id, token).ConfigureAwait(false);
                attempt = race?.NextAttempt() ?? attempt + 1;
                execution.AttemptStarted(id.Stage, isRetry: attempt > 1);
                return await RunAttemptAsync(execution, pipeline, pool, rows, id, attempt, race, speculative: false, token).ConfigureAwait(false);
            }

            commit = race is null
                ? await pipeline.ExecuteAsync(AttemptAsync, cancellationToken).ConfigureAwait(false)
                : await race.RunAsync(speculator!, pipeline, AttemptAsync).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested) && ex is not InputLostException)
        {
            execution.TaskFailed(id.Stage);
            var failed = new TaskFailedException(plan, id, race?.Attempts ?? attempt, ex, pipeline.IsPermanent(ex));
            Log.TaskFailed(execution.Logger, stage, id.ToString(), failed.Message, ex);
            throw failed;
        }

        speculator?.Committed(id.Stage, commit.Duration);
        await execution.CommittedAsync(commit, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<TaskCommit> RunAttemptAsync(TaskExecution execution, TaskRetry<TaskCommit> pipeline, WorkerPool pool, Lazy<int> rows, TaskId id, int attempt, WorkerRace? race, bool speculative, CancellationToken token)
    {
        var options = execution.Options;
        var stage = execution.Plan.Stages[id.Stage].Name;
        using var span = execution.StartTaskSpan(id, attempt);

        // Ends when the attempt has: its worker given back, or killed and waited for (what a race's winner waits for).
        using var ending = race?.Enter();
        var start = execution.ReportNow;
        PooledWorker? worker = null;
        WorkerReport? report = null;
        var returned = false;
        try
        {
            worker = await pool.RentAsync(token).ConfigureAwait(false);
            execution.TaskRunning(id.Stage);
            start = execution.ReportNow;
            if (!speculative)
            {
                race?.Running(true, options.TimeProvider.GetTimestamp());
            }

            var outcome = await worker.RunAsync(id, attempt, span?.Id, options.TaskTimeout, options.TimeProvider, token).ConfigureAwait(false);
            report = outcome.Report;

            // The worker is done with this task: the next one may have it while this one's commit is read.
            // One that died, timed out or broke the protocol is gone.
            returned = true;
            execution.TaskIdle(id.Stage);
            await pool.ReturnAsync(worker, usable: report is not null).ConfigureAwait(false);
            if (report is null)
            {
                throw new WorkerProcessException(outcome.Describe(worker, id, attempt), outcome.Permanent);
            }

            execution.AddStoreRetries(report.StoreRetries);
            switch (report.Status)
            {
                case WorkerProtocol.Lost:
                    // The worker found a committed input lost: the driver makes it again, then runs the task again.
                    throw new InputLostException(report.LostObject!, outcome.Describe(worker, id, attempt, report.Error));
                case WorkerProtocol.Failed:
                    // The worker's job classed the error (Job.IsPermanentFailure): only its text travels here.
                    throw new WorkerProcessException(outcome.Describe(worker, id, attempt, report.Error), report.Permanent);
                case WorkerProtocol.Refused:
                    // The worker cannot run this task at all (a plan it cannot read): trying again will not help.
                    throw new WorkerProcessException(outcome.Describe(worker, id, attempt, report.Error), permanent: true);
            }

            if (race is not null)
            {
                // Of attempts that race, the first to report its commit reads the task's (see WorkerRace).
                execution.AddBytes(report.BytesRead, report.BytesWritten);
                return await race.CommittedAsync(execution, ending!, new RacedAttempt(attempt, speculative, rows.Value + worker.Slot, start, execution.ReportNow, report), token).ConfigureAwait(false);
            }

            var committed = await execution.FindCommitAsync(id, token).ConfigureAwait(false)
                ?? throw new WorkerProcessException(outcome.Describe(worker, id, attempt, $"it reported the task {report.Status} but no commit record of it is in the store"));
            execution.AddBytes(report.BytesRead, report.BytesWritten);
            Record(execution, id, attempt, rows.Value + worker.Slot, start, AttemptOutcome.Committed, report, error: null);
            return committed;
        }
        catch (Exception ex)
        {
            var cancelled = ex is OperationCanceledException && token.IsCancellationRequested;
            var row = rows.Value + (worker?.Slot ?? 0);
            if (race is not null && race.Winner != 0 && race.Winner != attempt && race.Defer(new RacedAttempt(attempt, speculative, row, start, execution.ReportNow, report)))
            {
                // It lost its race: the winner records it, once it knows which commit is the task's.
            }
            else if (cancelled)
            {
                execution.RecordRacedAttempt(id, attempt, row, start, execution.ReportNow, AttemptOutcome.Cancelled, report?.BytesRead ?? 0, report?.BytesWritten ?? 0, race?.Winner > 0 ? race.Superseded : null, speculative, report?.Resources);
            }
            else
            {
                execution.RecordFailedAttempt(id, attempt, row, start, ex, pipeline.IsPermanent(ex), worker?.Name, report?.AttemptId, report?.BytesRead ?? 0, report?.BytesWritten ?? 0, report?.Resources, speculative);
                DataflowTracing.Fail(span, ex);
                Log.AttemptFailed(execution.Logger, stage, id.ToString(), attempt, ex.Message, ex);
            }

            throw;
        }
        finally
        {
            if (!speculative)
            {
                race?.Running(false, 0);
            }

            if (worker is not null && !returned)
            {
                // Cancelled while the worker ran the task: it was killed.
                execution.TaskIdle(id.Stage);
                await pool.ReturnAsync(worker, usable: false).ConfigureAwait(false);
            }
        }
    }

    private static void Record(TaskExecution execution, TaskId id, int attempt, int row, double start, AttemptOutcome outcome, WorkerReport? report, string? error) =>
        execution.RecordMeasuredAttempt(id, attempt, row, start, execution.ReportNow, outcome, report?.BytesRead ?? 0, report?.BytesWritten ?? 0, error, report?.Resources);

    private static partial class Log
    {
        [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Worker for task {Task} of stage {Stage}, attempt {Attempt}, failed: {Error}")]
        public static partial void AttemptFailed(ILogger logger, string stage, string task, int attempt, string error, Exception exception);

        [LoggerMessage(EventId = 31, Level = LogLevel.Error, Message = "Task {Task} of stage {Stage} failed: {Error}")]
        public static partial void TaskFailed(ILogger logger, string stage, string task, string error, Exception exception);
    }
}

/// <summary>A worker process failed: it exited non-zero, was killed, timed out, or left no commit record.</summary>
/// <param name="message">What happened, with the worker's last lines on stderr.</param>
/// <param name="permanent">True when trying again cannot help (the worker refused the task as a usage error, or its job found the task's failure permanent).</param>
public sealed class WorkerProcessException(string message, bool permanent = false) : Exception(message)
{
    /// <summary>True when trying again cannot help.</summary>
    public bool Permanent { get; } = permanent;
}

/// <summary>The environment variables a pod's worker reads (a pooled worker gets these with each task, on its pipe).</summary>
public static class WorkerEnvironment
{
    /// <summary>The attempt number the driver gives a worker (1 for the first).</summary>
    public const string Attempt = "DATAFLOW_ATTEMPT";

    /// <summary>The W3C <c>traceparent</c> of the span a worker's spans belong to (set by a traced driver).</summary>
    public const string TraceParent = "TRACEPARENT";

    /// <summary>The task index of an indexed Kubernetes Job's pod, used when no <c>--task</c> is given.</summary>
    public const string CompletionIndex = "JOB_COMPLETION_INDEX";

    /// <summary>
    /// The plan address a pooled worker was started to serve, set by the process executor and cleared by
    /// <see cref="TaskWorker.ServeAsync"/>: a process that has it and creates a <see cref="JobRunner"/> instead is a
    /// program that does not serve as its own worker (each such worker would start runs, and workers, of its own).
    /// </summary>
    internal const string ServedPlan = "DATAFLOW_WORKER_PLAN";
}
