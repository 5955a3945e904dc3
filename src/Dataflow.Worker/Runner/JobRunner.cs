using System.Diagnostics;
using System.Text;
using Dataflow.Core;
using Dataflow.Planner;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// Runs jobs against one store on this machine: lists the inputs, plans, stores the plan, runs every task on the
/// local executor, publishes the final outputs, collects intermediate artifacts and stores a summary.
/// </summary>
/// <example>
/// <code>
/// var result = await JobRunner.RunInStoreAsync("/data/merge", job, cancellationToken: ct);
/// Console.WriteLine($"{result.Summary.Tasks} tasks in {result.Summary.WallMs} ms");
/// </code>
/// </example>
public sealed partial class JobRunner
{
    private readonly IObjectStore _store;
    private readonly JobRunnerOptions _options;
    private readonly ILogger _logger;
    private RunReport? _lastReport;

    /// <summary>Creates a runner for <paramref name="store"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public JobRunner(IObjectStore store, JobRunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new JobRunnerOptions();
        _options.Validate();
        _logger = _options.LoggerFactory.CreateLogger("Dataflow.Run");
    }

    /// <summary>
    /// Opens the store at <paramref name="storeLocation"/> — a folder path, <c>file://</c>, <c>s3://bucket/prefix</c>
    /// or <c>oss://bucket/prefix</c> (see <c>ObjectStore.OpenAsync</c>) — runs <paramref name="job"/> there once, as a
    /// new run, and closes the store.
    /// </summary>
    /// <param name="storeLocation">Where the job's inputs are and its outputs go.</param>
    /// <param name="job">The job.</param>
    /// <param name="options">How to run it; default <see cref="JobRunnerOptions"/>'s defaults.</param>
    /// <param name="cancellationToken">Stops the run promptly; nothing is published then.</param>
    /// <returns>The run's summary and plan.</returns>
    /// <exception cref="ArgumentException">The location is not a store address.</exception>
    /// <exception cref="JobDefinitionException">The job does not fit its inputs, or its output exists and overwriting is off.</exception>
    /// <exception cref="JobFailedException">A task failed on every attempt, or publishing failed.</exception>
    public static async Task<RunResult> RunInStoreAsync(string storeLocation, Job job, JobRunnerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storeLocation);
        ArgumentNullException.ThrowIfNull(job);
        var store = await ObjectStore.OpenAsync(storeLocation, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
        {
            return await new JobRunner(store, options).RunAsync(job, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="job"/> once, as a new run.</summary>
    /// <param name="job">The job.</param>
    /// <param name="progress">Updated as the run goes, for a progress display; optional.</param>
    /// <param name="cancellationToken">Stops the run promptly; nothing is published then.</param>
    /// <returns>The run's summary and plan.</returns>
    /// <exception cref="JobDefinitionException">The job does not fit its inputs (none, too few for the widths), its output exists and overwriting is off, or the run id is taken.</exception>
    /// <exception cref="JobFailedException">A task failed on every attempt, or publishing failed; the exception carries the run's summary.</exception>
    /// <exception cref="RunLeaseException">Another driver holds the run's lease.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public async Task<RunResult> RunAsync(Job job, RunProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        progress ??= new RunProgress();
        var layout = new RunLayout(_options.RunId ?? RunLayout.NewRunId(time));
        var recorder = new RunRecorder(time);
        progress.PhaseChanged = recorder.Phase;
        progress.Start(layout.RunId);
        using var span = DataflowTracing.StartRun("run", job.Name, layout.RunId);
        using var scope = _logger.BeginScope(new LogScope("RunId", layout.RunId, "Job", job.Name));
        Log.RunStarting(_logger, job.Name, layout.RunId, _store.Location);
        try
        {
            var plan = await CreatePlanAsync(job, layout, progress, cancellationToken).ConfigureAwait(false);
            switch (_options.Executor)
            {
                case WorkflowExecutor workflow:
                    await PlanStore.SaveAsync(_store, plan, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return await RunWorkflowAsync(plan, layout, workflow, progress, cancellationToken).ConfigureAwait(false);
                case TaskExecutor executor:
                    await using (var lease = await RunLease.AcquireAsync(_store, layout, time, cancellationToken).ConfigureAwait(false))
                    {
                        await PlanStore.SaveAsync(_store, plan, cancellationToken: cancellationToken).ConfigureAwait(false);
                        return await ExecuteAsync(job, plan, layout, executor, new Dictionary<TaskId, CommitMarker>(), lease, progress, started, recorder, span, cancellationToken).ConfigureAwait(false);
                    }

                default:
                    throw new InvalidOperationException($"executor '{_options.Executor}' is neither a task executor nor a workflow executor");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            DataflowTracing.Fail(span, ex);
            Log.RunFailed(_logger, ex.Message, ex);
            throw;
        }
    }

    /// <summary>
    /// Plans <paramref name="job"/> as a new run and stores the plan, without running it: what a cluster runs from
    /// (see <c>plan --emit argo</c>). Resume the run, or submit its manifest, to run it.
    /// </summary>
    /// <returns>The stored plan.</returns>
    /// <exception cref="JobDefinitionException">The job does not fit its inputs, its output exists and overwriting is off, or the run id is taken.</exception>
    public async Task<Plan> PlanAsync(Job job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var layout = new RunLayout(_options.RunId ?? RunLayout.NewRunId(_options.TimeProvider));
        var plan = await CreatePlanAsync(job, layout, new RunProgress(), cancellationToken).ConfigureAwait(false);
        await PlanStore.SaveAsync(_store, plan, cancellationToken: cancellationToken).ConfigureAwait(false);
        return plan;
    }

    private async Task<Plan> CreatePlanAsync(Job job, RunLayout layout, RunProgress progress, CancellationToken cancellationToken)
    {
        if (!_options.Overwrite && await FindExistingOutputAsync(_store, job, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            throw new JobDefinitionException(job.Name, $"the output '{existing}' already exists in {_store.Location}; allow overwriting to replace it");
        }

        if (await _store.ExistsAsync(layout.PlanKey, cancellationToken).ConfigureAwait(false))
        {
            throw new JobDefinitionException(job.Name, $"run '{layout.RunId}' already exists in {_store.Location}; resume it, or start a new run with another id");
        }

        progress.SetPhase(RunPhases.Listing);
        var inputs = await ListInputsAsync(job, cancellationToken).ConfigureAwait(false);
        progress.SetPhase(RunPhases.Planning);
        return JobPlanner.CreatePlan(job, inputs, layout.RunId, _options.TimeProvider.GetUtcNow()) with { Arguments = _options.Arguments };
    }

    /// <summary>
    /// Resumes run <paramref name="runId"/> of <paramref name="job"/> after its driver stopped (killed, crashed,
    /// cancelled or failed): tasks that committed are not run again, the others are; garbage collection catches up
    /// with what the committed tasks freed; the output is what an uninterrupted run would have made.
    /// </summary>
    /// <param name="job">The job the run was started with (same name and operators).</param>
    /// <param name="runId">The run to resume.</param>
    /// <param name="progress">Updated as the run goes; optional.</param>
    /// <param name="cancellationToken">Stops the run promptly; it can be resumed again.</param>
    /// <returns>The run's summary (<see cref="RunSummary.TasksSkipped"/> counts the tasks found committed) and plan.</returns>
    /// <exception cref="JobDefinitionException">The run does not exist, or belongs to another job.</exception>
    /// <exception cref="JobFailedException">A task failed on every attempt, or publishing failed.</exception>
    /// <exception cref="RunLeaseException">Another driver holds the run's lease.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public async Task<RunResult> ResumeAsync(Job job, string runId, RunProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        progress ??= new RunProgress();
        var layout = new RunLayout(runId);
        var recorder = new RunRecorder(time);
        progress.PhaseChanged = recorder.Phase;
        progress.Start(layout.RunId);
        using var span = DataflowTracing.StartRun("resume", job.Name, layout.RunId);
        using var scope = _logger.BeginScope(new LogScope("RunId", layout.RunId, "Job", job.Name));
        Log.RunResuming(_logger, job.Name, layout.RunId, _store.Location);
        try
        {
            var plan = await LoadPlanAsync(_store, runId, cancellationToken).ConfigureAwait(false)
                ?? throw new JobDefinitionException(job.Name, $"run '{runId}' does not exist in {_store.Location} (no plan at '{layout.PlanKey}')");
            if (!string.Equals(plan.Job, job.Name, StringComparison.Ordinal))
            {
                throw new JobDefinitionException(job.Name, $"run '{runId}' is a run of job '{plan.Job}', not of this job");
            }

            switch (_options.Executor)
            {
                case WorkflowExecutor workflow:
                    // The workflow's pods skip what committed; its publish step and exit handler take the lease when they run.
                    return await RunWorkflowAsync(plan, layout, workflow, progress, cancellationToken).ConfigureAwait(false);
                case TaskExecutor executor:
                    await using (var lease = await RunLease.AcquireAsync(_store, layout, time, cancellationToken).ConfigureAwait(false))
                    {
                        var committed = await CommitIndex.LoadAllAsync(_store, layout, cancellationToken).ConfigureAwait(false);
                        return await ExecuteAsync(job, plan, layout, executor, committed, lease, progress, started, recorder, span, cancellationToken).ConfigureAwait(false);
                    }

                default:
                    throw new InvalidOperationException($"executor '{_options.Executor}' is neither a task executor nor a workflow executor");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            DataflowTracing.Fail(span, ex);
            Log.RunFailed(_logger, ex.Message, ex);
            throw;
        }
    }

    /// <summary>The plan of run <paramref name="runId"/>, or <see langword="null"/> when the store holds no such run.</summary>
    /// <exception cref="InvalidDataException">The plan is not a valid plan.</exception>
    public static Task<Plan?> LoadPlanAsync(IObjectStore store, string runId, CancellationToken cancellationToken = default) =>
        PlanStore.LoadAsync(store, runId, cancellationToken);

    private async Task<RunResult> ExecuteAsync(Job job, Plan plan, RunLayout layout, TaskExecutor executor, Dictionary<TaskId, CommitMarker> committed, RunLease lease, RunProgress progress, long started, RunRecorder recorder, Activity? span, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var counters = new RunCounters(job.Name);
        recorder.SetPlan(plan);
        recorder.Executor = executor.Name;
        using var spans = DataflowTracing.Source.HasListeners() ? new StageSpans(plan, span) : null;
        var telemetry = new RunTelemetry(recorder, spans, _logger);
        Log.Planned(_logger, plan.Stages.Count, plan.TaskCount, recorder.Executor);
        await using var collector = new ArtifactCollector(_store, _options.Gc, key => key.StartsWith(layout.DataPrefix, StringComparison.Ordinal));
        // A commit record waits (briefly) while some worker is busy with something other than waiting for its commit,
        // or a queued task could start: their markers are about to join it.
        var load = new SchedulerLoad();
        var committer = new GroupCommitter(_store, layout, waiting => Volatile.Read(ref load.Active) > waiting || load.CanStartMore, time);
        var session = new RunSession(job, plan, _store, _options, counters, collector, committer, progress, telemetry);
        progress.SetPlan(plan);

        Exception? failure = null;
        var cancelled = false;
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
        try
        {
            // Tasks that committed before (a resumed run) count as done; replaying their markers in stage order
            // holds their outputs and lets go of what they consumed, so collection catches up.
            var done = await session.ReplayAsync(committed, run.Token).ConfigureAwait(false);
            progress.SetPhase(RunPhases.Running);
            await executor.ExecuteAsync(new TaskExecution(session, _options, _store.GetUri(layout.PlanKey), done, load), run.Token).ConfigureAwait(false);

            // Publishing is the one step another driver must never race: make sure the lease is ours.
            await lease.ConfirmAsync(run.Token).ConfigureAwait(false);
            progress.SetPhase(RunPhases.Publishing);
            await session.PublishAsync(run.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }
        catch (OperationCanceledException) when (lease.Lost.IsCancellationRequested)
        {
            failure = lease.LostReason();
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            await committer.DisposeAsync().ConfigureAwait(false);
        }

        // Clean-up runs whatever happened: what nothing needs is deleted (per the GC mode); committed artifacts that
        // unfinished tasks still need stay, so a failed run can be resumed from its markers.
        progress.SetPhase(RunPhases.CleaningUp);
        await collector.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
        counters.Collected(collector.Deleted);
        await Sweeper.AbortIncompleteUploadsAsync(_store, layout).ConfigureAwait(false);
        var succeeded = failure is null && !cancelled;
        var left = await Sweeper.SweepAsync(_store, layout, session, collector, sweep: _options.Gc != GcMode.Never && failure is not RunLeaseException, succeeded).ConfigureAwait(false);
        var summary = new RunSummary
        {
            RunId = layout.RunId,
            Job = job.Name,
            Stages = plan.Stages.Count,
            Tasks = plan.TaskCount,
            TasksRun = counters.TasksRun,
            TasksSkipped = session.TasksReplayed,
            Attempts = counters.Attempts,
            Retries = counters.Retries,
            Failed = counters.Failed,
            WallMs = (long)time.GetElapsedTime(started).TotalMilliseconds,
            BytesRead = counters.BytesRead,
            BytesWritten = counters.BytesWritten,
            Output = !succeeded ? null
                : job.MapReduce?.MergedOutputKey is { } merged ? _store.GetUri(merged)
                : job.OutputIsPrefix ? _store.GetUri(job.OutputKey.TrimEnd('/')) + "/"
                : _store.GetUri(job.OutputKey),
            IntermediateObjectsLeft = left,
            Status = succeeded ? "succeeded" : cancelled ? "cancelled" : "failed",
            Error = failure?.Message,
        };
        try
        {
            // A driver that lost the lease leaves the summary to the driver that holds it.
            if (failure is not RunLeaseException)
            {
                await PutSummaryAsync(summary, CancellationToken.None).ConfigureAwait(false);
                await WriteReportAsync(recorder.Build(summary)).ConfigureAwait(false);
            }
        }
        catch (Exception) when (!succeeded)
        {
            // The run's own failure is the error to report; a summary that could not be stored must not hide it.
        }

        progress.SetPhase(RunPhases.Done);
        span?.SetTag("dataflow.status", summary.Status);
        span?.SetTag("dataflow.tasks", summary.Tasks);
        span?.SetTag("dataflow.tasks_run", summary.TasksRun);
        if (failure is not null)
        {
            DataflowTracing.Fail(span, failure);
        }

        Log.RunEnded(_logger, summary.Status, summary.TasksRun, summary.TasksSkipped, summary.Retries, summary.WallMs);

        if (cancelled)
        {
            throw new OperationCanceledException($"run '{layout.RunId}' of job '{job.Name}' was cancelled; resume it with its run id", null, cancellationToken);
        }

        if (failure is not null)
        {
            throw new JobFailedException(summary, failure);
        }

        return new RunResult(summary, plan);
    }

    /// <summary>
    /// Hands the stored plan to <paramref name="executor"/> (e.g. an Argo Workflow) and returns the summary it stored.
    /// Cancelling stops the workflow; then the driver does what the workflow's clean-up would have done on failure
    /// (abort incomplete uploads, keep what committed) and stores a summary of a cancelled run.
    /// </summary>
    private async Task<RunResult> RunWorkflowAsync(Plan plan, RunLayout layout, WorkflowExecutor executor, RunProgress progress, CancellationToken cancellationToken)
    {
        progress.SetPlan(plan);
        try
        {
            var summary = await executor.ExecuteAsync(new WorkflowExecution(plan, _store, _options, progress), cancellationToken).ConfigureAwait(false);
            progress.SetPhase(RunPhases.Done);
            return new RunResult(summary, plan);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            progress.SetPhase(RunPhases.CleaningUp);
            var left = (await Sweeper.CleanAsync(_store, layout, keepData: true, CancellationToken.None).ConfigureAwait(false)).ObjectsLeft;
            var wallMs = (long)(_options.TimeProvider.GetUtcNow() - plan.CreatedAt).TotalMilliseconds;
            await PutSummaryAsync(RunSteps.SummaryWithoutTasks(plan, "cancelled", error: null, wallMs, left), CancellationToken.None).ConfigureAwait(false);
            progress.SetPhase(RunPhases.Done);
            throw new OperationCanceledException($"run '{layout.RunId}' of job '{plan.Job}' was cancelled and its workflow stopped; resume it with its run id", null, cancellationToken);
        }
    }

    /// <summary>
    /// The key of an object that <paramref name="job"/>'s output would replace, or <see langword="null"/>: the output
    /// key of a reduce tree; for map-reduce any object under the output prefix, or the merged output.
    /// </summary>
    public static async Task<string?> FindExistingOutputAsync(IObjectStore store, Job job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(job);
        if (job.MapReduce is { MergedOutputKey: { } merged } && await store.ExistsAsync(merged, cancellationToken).ConfigureAwait(false))
        {
            return merged;
        }

        if (!job.OutputIsPrefix)
        {
            return await store.ExistsAsync(job.OutputKey, cancellationToken).ConfigureAwait(false) ? job.OutputKey : null;
        }

        await foreach (var info in store.ListAsync(job.OutputKey, cancellationToken).ConfigureAwait(false))
        {
            return info.Key;
        }

        return null;
    }

    /// <summary>
    /// Stores the run report as <c>report.json</c> and <c>report.html</c> in the run's folder (unless turned off).
    /// Best effort: a report that cannot be stored is logged, and fails no run.
    /// </summary>
    private async Task WriteReportAsync(RunReport report)
    {
        if (!_options.Report)
        {
            return;
        }

        var layout = new RunLayout(report.Summary.RunId);
        try
        {
            await _store.PutAsync(layout.ReportKey, RunRecords.Serialize(report), CancellationToken.None).ConfigureAwait(false);
            await _store.PutAsync(layout.ReportHtmlKey, Encoding.UTF8.GetBytes(RunReportHtml.Render(report)), CancellationToken.None).ConfigureAwait(false);
            _lastReport = report;
        }
        catch (ObjectStoreException ex)
        {
            Log.ReportNotStored(_logger, ex.Message, ex);
        }
    }

    /// <summary>
    /// Stores <paramref name="summary"/> as its run's <c>summary.json</c>, replacing what is there (e.g. to record that
    /// the output was verified); the run report, when there is one, gets the new summary too.
    /// </summary>
    public async Task WriteSummaryAsync(RunSummary summary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var layout = new RunLayout(summary.RunId);
        await PutSummaryAsync(summary, cancellationToken).ConfigureAwait(false);
        if (!_options.Report)
        {
            return;
        }

        // The report this runner just wrote (the usual case: a program records that it verified the output), or
        // the one in the store.
        var report = _lastReport?.Summary.RunId == summary.RunId ? _lastReport : null;
        if (report is null && await ReportExistsAsync(summary.RunId, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(layout.ReportKey, cancellationToken).ConfigureAwait(false));
            }
            catch (InvalidDataException ex)
            {
                Log.ReportNotStored(_logger, ex.Message, ex);
            }
        }

        if (report is not null)
        {
            await WriteReportAsync(report with { Summary = summary }).ConfigureAwait(false);
        }
    }

    private async Task PutSummaryAsync(RunSummary summary, CancellationToken cancellationToken) =>
        await _store.PutAsync(new RunLayout(summary.RunId).SummaryKey, RunRecords.Serialize(summary, indented: true), cancellationToken).ConfigureAwait(false);

    /// <summary>The address of run <paramref name="runId"/>'s report page, <c>report.html</c> (whether or not it has been stored).</summary>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public string GetReportUri(string runId) => _store.GetUri(new RunLayout(runId).ReportHtmlKey);

    /// <summary>Whether run <paramref name="runId"/> has a stored report (<c>report.html</c> and <c>report.json</c>).</summary>
    public async Task<bool> ReportExistsAsync(string runId, CancellationToken cancellationToken = default) =>
        _lastReport?.Summary.RunId == runId || await _store.ExistsAsync(new RunLayout(runId).ReportKey, cancellationToken).ConfigureAwait(false);

    private async Task<IReadOnlyList<PlanInput>> ListInputsAsync(Job job, CancellationToken cancellationToken)
    {
        var inputs = new List<PlanInput>();
        if (job.Input.Prefix is { } prefix)
        {
            await foreach (var info in _store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                // An empty prefix lists the whole store; Dataflow's own records are never job inputs.
                if (!ObjectKey.IsReserved(info.Key))
                {
                    inputs.Add(new PlanInput(info.Key, info.Size));
                }
            }

            return inputs;
        }

        foreach (var key in job.Input.Keys!)
        {
            var info = await _store.HeadAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw new JobDefinitionException(job.Name, $"input '{key}' does not exist in {_store.Location}");
            inputs.Add(new PlanInput(key, info.Size));
        }

        return inputs;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Starting a run of job {Job} ({RunId}) in {Store}")]
        public static partial void RunStarting(ILogger logger, string job, string runId, string store);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Resuming run {RunId} of job {Job} in {Store}")]
        public static partial void RunResuming(ILogger logger, string job, string runId, string store);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Planned {Stages} stages, {Tasks} tasks, on the {Executor} executor")]
        public static partial void Planned(ILogger logger, int stages, int tasks, string executor);

        [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Run {Status}: {TasksRun} tasks run, {TasksSkipped} skipped, {Retries} retries, {WallMs} ms")]
        public static partial void RunEnded(ILogger logger, string status, int tasksRun, int tasksSkipped, int retries, long wallMs);

        [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "The run failed: {Error}")]
        public static partial void RunFailed(ILogger logger, string error, Exception exception);

        [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "The run report could not be stored: {Error}")]
        public static partial void ReportNotStored(ILogger logger, string error, Exception exception);
    }
}
