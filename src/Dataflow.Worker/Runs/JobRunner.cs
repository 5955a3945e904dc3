using Dataflow.Execution.Local;
using Dataflow.Execution.Progress;
using Dataflow.Jobs;
using Dataflow.Planning;
using Dataflow.Plans;
using Dataflow.Runs;
using Dataflow.Storage;
using Dataflow.Storage.Gc;

namespace Dataflow.Execution.Runs;

/// <summary>
/// Runs jobs against one store on this machine: lists the inputs, plans, stores the plan, runs every task on the
/// local executor, publishes the final outputs, collects intermediate artifacts and stores a summary.
/// </summary>
/// <example>
/// <code>
/// await using var store = ObjectStore.Open("/data/merge");
/// var result = await new JobRunner(store).RunAsync(job, cancellationToken: ct);
/// Console.WriteLine($"{result.Summary.Tasks} tasks in {result.Summary.WallMs} ms");
/// </code>
/// </example>
public sealed class JobRunner
{
    private readonly IObjectStore _store;
    private readonly JobRunnerOptions _options;

    /// <summary>Creates a runner for <paramref name="store"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public JobRunner(IObjectStore store, JobRunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new JobRunnerOptions();
        _options.Validate();
    }

    /// <summary>Runs <paramref name="job"/> once, as a new run.</summary>
    /// <param name="job">The job.</param>
    /// <param name="progress">Updated as the run goes, for a progress display; optional.</param>
    /// <param name="cancellationToken">Stops the run promptly; nothing is published then.</param>
    /// <returns>The run's summary and plan.</returns>
    /// <exception cref="JobDefinitionException">The job does not fit its inputs (none, too few for the widths), or its output exists and overwriting is off.</exception>
    /// <exception cref="JobFailedException">A task failed on every attempt, or publishing failed; the exception carries the run's summary.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public async Task<RunResult> RunAsync(Job job, RunProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        progress ??= new RunProgress();
        var layout = new RunLayout(_options.RunId ?? RunLayout.NewRunId(time));
        progress.Start(layout.RunId);

        if (!_options.Overwrite && await FindExistingOutputAsync(_store, job, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            throw new JobDefinitionException(job.Name, $"the output '{existing}' already exists in {_store.Location}; allow overwriting to replace it");
        }

        progress.SetPhase(RunPhases.Listing);
        var inputs = await ListInputsAsync(job, cancellationToken).ConfigureAwait(false);

        progress.SetPhase(RunPhases.Planning);
        var plan = Planner.CreatePlan(job, inputs, layout.RunId, time.GetUtcNow());
        await _store.PutAsync(layout.PlanKey, PlanSerializer.SerializeToUtf8Bytes(plan), cancellationToken).ConfigureAwait(false);

        var counters = new RunCounters();
        await using var collector = new ArtifactCollector(_store, _options.Gc, key => key.StartsWith(layout.DataPrefix, StringComparison.Ordinal));
        // A commit record waits (briefly) while some worker is busy with something other than waiting for its commit,
        // or a queued task could start: their markers are about to join it.
        var load = new SchedulerLoad();
        var committer = new GroupCommitter(_store, layout, waiting => Volatile.Read(ref load.Active) > waiting || load.CanStartMore, time);
        var session = new RunSession(job, plan, _store, _options, counters, collector, committer, progress);
        progress.SetPlan(plan);
        progress.SetPhase(RunPhases.Running);

        Exception? failure = null;
        var cancelled = false;
        try
        {
            await LocalExecutor.ExecuteAsync(session, _options.Concurrency, cancellationToken, load).ConfigureAwait(false);
            progress.SetPhase(RunPhases.Publishing);
            await session.PublishAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
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
        await AbortIncompleteUploadsAsync(layout).ConfigureAwait(false);
        var left = await CountAsync(layout.DataPrefix).ConfigureAwait(false);
        var succeeded = failure is null && !cancelled;
        var summary = new RunSummary
        {
            RunId = layout.RunId,
            Job = job.Name,
            Stages = plan.Stages.Count,
            Tasks = plan.TaskCount,
            TasksRun = counters.TasksRun,
            TasksSkipped = 0,
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
            await WriteSummaryAsync(summary, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception) when (!succeeded)
        {
            // The run's own failure is the error to report; a summary that could not be stored must not hide it.
        }

        progress.SetPhase(RunPhases.Done);

        if (cancelled)
        {
            throw new OperationCanceledException($"run '{layout.RunId}' of job '{job.Name}' was cancelled", null, cancellationToken);
        }

        if (failure is not null)
        {
            throw new JobFailedException(summary, failure);
        }

        return new RunResult(summary, plan);
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

    /// <summary>Stores <paramref name="summary"/> as its run's <c>summary.json</c>, replacing what is there (e.g. to record that the output was verified).</summary>
    public async Task WriteSummaryAsync(RunSummary summary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(summary);
        await _store.PutAsync(new RunLayout(summary.RunId).SummaryKey, RunRecords.Serialize(summary, indented: true), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Aborts the multipart uploads of the run that never completed (a writer that died, an abort that failed), found
    /// through the store's upload journal. Best effort: what cannot be aborted now stays in the journal for
    /// <c>gc</c>, and must neither fail a run whose output is published nor hide a failed run's own error.
    /// </summary>
    private async Task AbortIncompleteUploadsAsync(RunLayout layout)
    {
        if (_store is not IIncompleteUploads uploads)
        {
            return;
        }

        try
        {
            await uploads.AbortIncompleteUploadsAsync(layout.Root, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectStoreException)
        {
        }
    }

    private async Task<IReadOnlyList<PlanInput>> ListInputsAsync(Job job, CancellationToken cancellationToken)
    {
        var inputs = new List<PlanInput>();
        if (job.Input.Prefix is { } prefix)
        {
            await foreach (var info in _store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                // An empty prefix lists the whole store; Dataflow's own records are never job inputs.
                if (!RunLayout.IsReserved(info.Key))
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

    private async Task<int> CountAsync(string prefix)
    {
        var count = 0;
        await foreach (var _ in _store.ListAsync(prefix, CancellationToken.None).ConfigureAwait(false))
        {
            count++;
        }

        return count;
    }
}
