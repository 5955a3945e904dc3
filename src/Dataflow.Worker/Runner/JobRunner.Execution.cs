using System.Diagnostics;
using Dataflow.Core;
using Dataflow.Planner;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>How a <see cref="JobRunner"/> drives a run: plans it or loads its plan, hands it to the executor, publishes, collects and records.</summary>
public sealed partial class JobRunner
{
    /// <summary>
    /// Drives one run of <paramref name="job"/>, new or resumed: plans it (or loads its plan), then hands it to the
    /// executor — a task executor under the run's lease, or a workflow executor that drives the stored run itself.
    /// </summary>
    private async Task<RunResult> DriveAsync(Job job, RunLayout layout, bool resume, RunProgress? progress, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();

        // The store's retries from here on — planning, the lease, tasks, publishing — are the run's.
        var retriedBefore = _store.RetriedRequests;
        progress ??= new RunProgress();
        var recorder = new RunRecorder(time);

        // Every request from here on outside an attempt is the driver's, background loops started here included.
        using var driverRequests = recorder.MeasureDriver();
        progress.PhaseChanged = recorder.Phase;
        progress.Start(layout.RunId);
        using var span = DataflowTracing.StartRun(resume ? "resume" : "run", job.Name, layout.RunId);
        using var scope = _logger.BeginScope(new LogScope("RunId", layout.RunId, "Job", job.Name));
        if (resume)
        {
            Log.RunResuming(_logger, job.Name, layout.RunId, _store.Location);
        }
        else
        {
            Log.RunStarting(_logger, job.Name, layout.RunId, _store.Location);
        }

        try
        {
            if (!resume && _options.Cache != CacheMode.Off && _options.Executor is WorkflowExecutor)
            {
                throw new JobDefinitionException(job.Name, $"the task cache does not work with the {_options.Executor.Name} executor yet: run without it (cache off), or with the local, process or Kubernetes executor");
            }

            await RemoveLeftoversAsync().ConfigureAwait(false);
            var plan = resume
                ? await LoadPlanOfAsync(job, layout, cancellationToken).ConfigureAwait(false)
                : await CreatePlanAsync(job, layout, progress, cancellationToken).ConfigureAwait(false);
            switch (_options.Executor)
            {
                case WorkflowExecutor workflow:
                    // The driver holds the lease while it follows the workflow, for it: the workflow's publish step and
                    // exit handler join it. A resumed workflow's pods skip what committed.
                    await using (var lease = await RunLease.AcquireAsync(_store, layout, time, cancellationToken).ConfigureAwait(false))
                    {
                        lease.WatchForCancelRequests(_options.CancelPollInterval);
                        if (!resume)
                        {
                            await PlanStore.SaveAsync(_store, plan, cancellationToken: cancellationToken).ConfigureAwait(false);
                        }

                        await lease.ConfirmAsync(cancellationToken).ConfigureAwait(false);
                        return await RunWorkflowAsync(plan, layout, workflow, lease, progress, cancellationToken).ConfigureAwait(false);
                    }

                case TaskExecutor executor:
                    await using (var lease = await RunLease.AcquireAsync(_store, layout, time, cancellationToken).ConfigureAwait(false))
                    {
                        lease.WatchForCancelRequests(_options.CancelPollInterval);
                        Dictionary<TaskId, CommitMarker> committed;
                        if (resume)
                        {
                            committed = await CommitIndex.LoadAllAsync(_store, layout, cancellationToken).ConfigureAwait(false);
                        }
                        else
                        {
                            await PlanStore.SaveAsync(_store, plan, cancellationToken: cancellationToken).ConfigureAwait(false);
                            committed = [];
                        }

                        var cache = plan.Cache == CacheMode.Off ? null
                            : await OpenCacheAsync(job, plan, resume, committed, lease, progress, cancellationToken).ConfigureAwait(false);
                        return await ExecuteAsync(job, plan, layout, executor, committed, cache, lease, progress, (started, retriedBefore), recorder, span, cancellationToken).ConfigureAwait(false);
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
    /// Deletes what writers that died left in the store's temporary space (a killed driver's partial files), as any run
    /// starts and ends. Best effort: what cannot be deleted now is deleted by a later run or <c>gc</c>.
    /// </summary>
    private async Task RemoveLeftoversAsync()
    {
        try
        {
            var removed = await _store.RemoveLeftoversAsync(CancellationToken.None).ConfigureAwait(false);
            if (removed.Files > 0)
            {
                Log.LeftoversRemoved(_logger, removed.Files, removed.Bytes);
            }
        }
        catch (IOException ex)
        {
            Log.LeftoversNotRemoved(_logger, ex.Message, ex);
        }
    }

    /// <summary>The stored plan of the run being resumed, which must be a run of <paramref name="job"/>.</summary>
    /// <exception cref="JobDefinitionException">The run does not exist, or belongs to another job.</exception>
    private async Task<Plan> LoadPlanOfAsync(Job job, RunLayout layout, CancellationToken cancellationToken)
    {
        var plan = await LoadPlanAsync(_store, layout.RunId, cancellationToken).ConfigureAwait(false)
            ?? throw new JobDefinitionException(job.Name, $"run '{layout.RunId}' does not exist in {_store.Location} (no plan at '{layout.PlanKey}')");
        return string.Equals(plan.Job, job.Name, StringComparison.Ordinal)
            ? plan
            : throw new JobDefinitionException(job.Name, $"run '{layout.RunId}' is a run of job '{plan.Job}', not of this job");
    }

    private async Task<Plan> CreatePlanAsync(Job job, RunLayout layout, RunProgress progress, CancellationToken cancellationToken)
    {
        if (CheckOutputs(_store, job) is { } unstorable)
        {
            throw new JobDefinitionException(job.Name, unstorable);
        }

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
        return JobPlanner.CreatePlan(job, inputs, layout.RunId, _options.TimeProvider.GetUtcNow()) with { Arguments = _options.Arguments, Cache = _options.Cache };
    }

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
                    inputs.Add(new PlanInput(info.Key, info.Size) { ETag = info.ETag });
                }
            }

            return inputs;
        }

        foreach (var key in job.Input.Keys!)
        {
            var info = await _store.HeadAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw new JobDefinitionException(job.Name, $"input '{key}' does not exist in {_store.Location}");
            inputs.Add(new PlanInput(key, info.Size) { ETag = info.ETag });
        }

        return inputs;
    }

    private async Task<RunResult> ExecuteAsync(Job job, Plan plan, RunLayout layout, TaskExecutor executor, Dictionary<TaskId, CommitMarker> committed, RunCache? cache, RunLease lease, RunProgress progress, (long Timestamp, long StoreRetries) started, RunRecorder recorder, Activity? span, CancellationToken cancellationToken)
    {
        string? recordsNotStored = null;
        var time = _options.TimeProvider;
        var counters = new RunCounters(job.Name);
        recorder.SetPlan(plan);
        recorder.Executor = executor.Name;
        using var spans = DataflowTracing.Source.HasListeners() ? new StageSpans(plan, span) : null;
        // Failed attempts are stored as they fail (a live view of the run shows them), off the tasks' path.
        await using var failures = new FailureRecorder(_store, layout, _logger, _options.MaxFailureRecords);
        var telemetry = new RunTelemetry(recorder, spans, _logger) { Failures = failures };
        Log.Planned(_logger, plan.Stages.Count, plan.TaskCount, recorder.Executor);
        await using var collector = new ArtifactCollector(_store, _options.Gc, key => key.StartsWith(layout.DataPrefix, StringComparison.Ordinal) && (cache?.IsCollectable(key) ?? true));
        // A commit record waits (briefly) while some worker is busy with something other than waiting for its commit,
        // or a queued task could start: their markers are about to join it.
        var load = new SchedulerLoad();
        var committer = new GroupCommitter(_store, layout, waiting => Volatile.Read(ref load.Active) > waiting || load.CanStartMore, time, () => lease.ConfirmAsync(CancellationToken.None));
        var session = new RunSession(job, plan, _store, _options, counters, collector, committer, progress, telemetry) { Cache = cache, Tolerance = _options.MaxFailedInputs };
        progress.SetPlan(plan);

        // What runs now (per stage), for a live view in another process: commit records cannot tell.
        var publisher = new ProgressPublisher(_store, layout, progress, time, _logger, _options.ProgressInterval);
        Exception? failure = null;
        var cancelled = false;
        // A cancel request addressed to this driver (RunCatalog.RequestCancelAsync) cancels the run as Ctrl+C would.
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost, lease.CancelRequested);
        try
        {
            // Tasks that committed before (a resumed run) count as done; replaying their markers in stage order
            // holds their outputs and lets go of what they consumed, so collection catches up.
            await session.ReplayAsync(committed, run.Token).ConfigureAwait(false);
            if (cache is not null)
            {
                await session.PassOverAsync(cache.NotNeeded, run.Token).ConfigureAwait(false);
            }
            progress.SetPhase(RunPhases.Running);
            var execution = new TaskExecution(session, _options, _store.GetUri(layout.PlanKey), load, lease.ConfirmAsync);
            await executor.ExecuteAsync(execution, run.Token).ConfigureAwait(false);

            // Publishing is the one step another driver must never race: make sure the lease is ours.
            await lease.ConfirmAsync(run.Token).ConfigureAwait(false);
            progress.SetPhase(RunPhases.Publishing);
            await PublishAsync(session, execution, run.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested || lease.CancelRequested.IsCancellationRequested)
        {
            cancelled = true;
        }
        catch (OperationCanceledException) when (lease.Lost.IsCancellationRequested)
        {
            failure = lease.LostReason();
        }
        catch (Exception) when (lease.Lost.IsCancellationRequested)
        {
            // A task that waited to commit until the lease was confirmed failed because it was not: that is the cause.
            failure = lease.LostReason();
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            await committer.DisposeAsync().ConfigureAwait(false);

            // Before the summary: a run that ended has all its failure records, and no progress record (whose writes,
            // and their retries, are then all counted in the summary).
            await failures.FlushAsync().ConfigureAwait(false);
            await publisher.DisposeAsync().ConfigureAwait(false);
        }

        // Clean-up runs whatever happened: what nothing needs is deleted (per the GC mode); committed artifacts that
        // unfinished tasks still need stay, so a failed run can be resumed from its markers. What the run committed
        // joins the cache first (a failed run's too: a rerun need not repeat it), unless another driver owns the run.
        progress.SetPhase(RunPhases.CleaningUp);
        if (cache is not null && failure is not RunLeaseException)
        {
            await cache.WriteEntriesAsync(session, failure is null && !cancelled).ConfigureAwait(false);
        }

        await collector.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
        counters.Collected(collector.Deleted);
        await Sweeper.AbortIncompleteUploadsAsync(_store, layout).ConfigureAwait(false);
        var succeeded = failure is null && !cancelled;
        var left = await Sweeper.SweepAsync(_store, layout, session, collector, sweep: _options.Gc != GcMode.Never && failure is not RunLeaseException, succeeded).ConfigureAwait(false);

        // Again at the end: a writer that died after the start (a killed driver's worker process that outlived it and
        // was still writing when this run began) leaves its partial file only now.
        await RemoveLeftoversAsync().ConfigureAwait(false);
        var tolerated = session.ToleratedFailures();
        var summary = new RunSummary
        {
            RunId = layout.RunId,
            Job = job.Name,
            Stages = plan.Stages.Count,
            Tasks = plan.TaskCount,
            TasksRun = counters.TasksRun,
            TasksSkipped = session.TasksReplayed,
            TasksCached = session.TasksCached.Sum() + session.TasksNotNeeded.Sum(),
            Cache = cache is null ? null : new RunCacheSummary
            {
                Mode = cache.Mode == CacheMode.On ? "on" : "read-only",
                TasksCached = [.. session.TasksCached.Zip(session.TasksNotNeeded, (hits, passed) => hits + passed)],
                TasksNotNeeded = session.TasksNotNeeded.Sum(),
                TasksWithKey = cache.Keys.Count,
                Lookups = cache.Lookups,
                EntriesInvalid = cache.EntriesInvalid,
                EntriesWritten = cache.EntriesWritten,
                Reasons = cache.Reasons.Count == 0 ? null : cache.Reasons,
            },
            TasksSetAside = session.TasksSetAside,
            Attempts = counters.Attempts,
            Retries = counters.Retries,
            SpeculativeAttempts = counters.Speculated,
            SpeculativeWins = counters.SpeculationsWon,
            Failed = counters.Failed,
            Partial = succeeded && tolerated.Count > 0,
            FailedInputs = tolerated.Count == 0 ? null : [.. tolerated.SelectMany(t => t.Failure.Inputs).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            TasksTolerated = tolerated.Count,
            WallMs = (long)time.GetElapsedTime(started.Timestamp).TotalMilliseconds,
            BytesRead = counters.BytesRead,
            BytesWritten = counters.BytesWritten,
            StoreRetries = StoreRetries(counters, started.StoreRetries),
            Resources = recorder.Resources(),
            Output = !succeeded ? null
                : job.MapReduce?.MergedOutputKey is { } merged ? _store.GetUri(merged)
                : job.OutputIsPrefix ? _store.GetUri(job.OutputKey.TrimEnd('/')) + "/"
                : _store.GetUri(job.OutputKey),
            IntermediateObjectsLeft = left,
            Status = succeeded ? "succeeded" : cancelled ? "cancelled" : "failed",
            Error = failure?.Message ?? (cancelled ? CancelledOnRequest(lease, cancellationToken) : null),
        };
        try
        {
            // A driver that lost the lease leaves the summary to the driver that holds it.
            if (failure is not RunLeaseException)
            {
                await PutSummaryAsync(summary, CancellationToken.None).ConfigureAwait(false);
                await WriteReportAsync(recorder.Build(summary) with { Tolerated = ToleratedFailureReport.Of(plan, tolerated) }).ConfigureAwait(false);
            }
        }
        catch (Exception) when (!succeeded)
        {
            // The run's own failure is the error to report; a summary that could not be stored must not hide it.
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The output is published: the run succeeded, and says so, whatever became of its records.
            recordsNotStored = ex.Message;
            Log.ReportNotStored(_logger, ex.Message, ex);
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
            throw new RunCancelledException(layout.RunId, job.Name, summary, cancellationToken.IsCancellationRequested ? cancellationToken : lease.CancelRequested);
        }

        if (failure is not null)
        {
            throw new JobFailedException(summary, failure);
        }

        return new RunResult(summary, plan) { RecordsNotStored = recordsNotStored };
    }

    /// <summary>
    /// The store requests retried during the run: this process's (counted and published now) and its workers' (counted
    /// as their reports came in).
    /// </summary>
    private long StoreRetries(RunCounters counters, long retriedBefore)
    {
        counters.AddStoreRetries(_store.RetriedRequests - retriedBefore);
        return counters.StoreRetries;
    }
}
