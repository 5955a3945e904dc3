using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The steps of a run that a driver takes itself on one machine, as separate steps for a run without a driver (an
/// Argo Workflow's last step and its exit handler; the <c>publish</c> and <c>finish</c> commands): publishing the
/// final outputs once the last stage has committed, and the final clean-up. Neither needs the job's definition, and
/// neither reads more of the plan than its index.
/// </summary>
public static class RunSteps
{
    /// <summary>
    /// Publishes the final outputs of run <paramref name="runId"/> from the commits of the tasks that make them,
    /// under the run's lease.
    /// </summary>
    /// <param name="store">The run's store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="time">The clock; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="workflow">The Argo Workflow this step belongs to, if any: it joins the lease its driver holds for it.</param>
    /// <param name="cancellationToken">Stops publishing; what was published stays.</param>
    /// <returns>The URIs of the published outputs.</returns>
    /// <exception cref="InvalidOperationException">There is no such run, or a task that makes a final output has not committed.</exception>
    /// <exception cref="RunLeaseException">A driver holds the run's lease (and not for <paramref name="workflow"/>).</exception>
    public static async Task<IReadOnlyList<string>> PublishAsync(IObjectStore store, string runId, TimeProvider? time = null, string? workflow = null, CancellationToken cancellationToken = default)
    {
        var (layout, index, lease) = await TakeRunAsync(store, runId, time, workflow, cancellationToken).ConfigureAwait(false);
        await using var _ = lease;
        var markers = new List<(PlanOutput Output, CommitMarker Marker)>();
        foreach (var output in index.Outputs)
        {
            var marker = await CommitIndex.FindAsync(store, layout, output.Task, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"final output '{output.Key}' of run '{runId}' (job '{index.Job}') cannot be published: task {output.Task} of stage '{index.Stages[output.Task.Stage].Name}' has not committed");
            markers.Add((output, marker));
        }

        await lease.ConfirmAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (output, marker) in markers)
        {
            await RunSession.PublishAsync(store, output, marker, cancellationToken).ConfigureAwait(false);
        }

        return [.. index.Outputs.Select(o => store.GetUri(o.Key))];
    }

    /// <summary>
    /// Ends run <paramref name="runId"/> after its workflow ended: aborts its incomplete multipart uploads; when it
    /// succeeded, also deletes its intermediate data; and stores its summary. A failed run keeps what committed, so
    /// <c>resume</c> goes on from there.
    /// </summary>
    /// <param name="store">The run's store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="succeeded">Whether the workflow succeeded (every stage committed, outputs published).</param>
    /// <param name="failure">Why it did not, for the summary.</param>
    /// <param name="time">The clock; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="workflow">The Argo Workflow this step belongs to, if any: it joins the lease its driver holds for it.</param>
    /// <param name="cancellationToken">Stops the clean-up.</param>
    /// <returns>The stored summary.</returns>
    /// <exception cref="InvalidOperationException">There is no such run.</exception>
    /// <exception cref="RunLeaseException">A driver holds the run's lease (and not for <paramref name="workflow"/>).</exception>
    public static async Task<RunSummary> FinishAsync(IObjectStore store, string runId, bool succeeded, string? failure, TimeProvider? time = null, string? workflow = null, CancellationToken cancellationToken = default)
    {
        var (layout, index, lease) = await TakeRunAsync(store, runId, time, workflow, cancellationToken).ConfigureAwait(false);
        await using var _ = lease;
        await lease.ConfirmAsync(cancellationToken).ConfigureAwait(false);
        var left = (await Sweeper.CleanAsync(store, layout, keepData: !succeeded, cancellationToken).ConfigureAwait(false)).ObjectsLeft;

        // The pods' shard records (and the tasks' own records they do not copy): what committed, and the bytes and
        // attempts the workers' commits state.
        var records = await CommitIndex.LoadRecordsAsync(store, layout, cancellationToken).ConfigureAwait(false);
        var markers = CommitIndex.Winners(records);
        var tasks = markers.Count;
        var attempts = CommitIndex.CountAttempts(records);
        var summary = new RunSummary
        {
            RunId = runId,
            Job = index.Job,
            Stages = index.Stages.Count,
            Tasks = index.TaskCount,
            TasksRun = tasks,
            TasksSkipped = 0,
            Attempts = attempts,
            Retries = Math.Max(0, attempts - tasks),
            Failed = succeeded ? 0 : index.TaskCount - tasks,
            WallMs = Math.Max(0, (long)((time ?? TimeProvider.System).GetUtcNow() - index.CreatedAt).TotalMilliseconds),
            BytesRead = markers.Values.Sum(m => m.BytesRead ?? 0),
            BytesWritten = markers.Values.Sum(m => m.BytesWritten ?? 0),
            Resources = ResourceTotals.ForRun(markers.Values.Select(m => m.Resources), driver: null),
            Output = succeeded ? OutputUri(store, index.Outputs) : null,
            IntermediateObjectsLeft = left,
            Status = succeeded ? "succeeded" : "failed",
            Error = succeeded ? null : failure ?? "the workflow failed",
        };
        await store.PutAsync(layout.SummaryKey, RunRecords.Serialize(summary, indented: true), cancellationToken).ConfigureAwait(false);
        var report = RunRecorder.FromCommits(index, markers.Values, summary, "argo");
        await store.PutAsync(layout.ReportKey, RunRecords.Serialize(report), cancellationToken).ConfigureAwait(false);
        await store.PutAsync(layout.ReportHtmlKey, System.Text.Encoding.UTF8.GetBytes(RunReportHtml.Render(report)), cancellationToken).ConfigureAwait(false);
        return summary;
    }

    /// <summary>The summary of a run of <paramref name="plan"/> whose tasks the driver did not see (they ran in a workflow).</summary>
    internal static RunSummary SummaryWithoutTasks(Plan plan, string status, string? error, long wallMs, int intermediateObjectsLeft) => new()
    {
        RunId = plan.RunId,
        Job = plan.Job,
        Stages = plan.Stages.Count,
        Tasks = plan.TaskCount,
        TasksRun = 0,
        TasksSkipped = 0,
        Attempts = 0,
        Retries = 0,
        Failed = 0,
        WallMs = wallMs,
        BytesRead = 0,
        BytesWritten = 0,
        Output = null,
        IntermediateObjectsLeft = intermediateObjectsLeft,
        Status = status,
        Error = error,
    };

    /// <summary>The run's layout and plan index, and its lease, taken for a step.</summary>
    /// <exception cref="InvalidOperationException">There is no such run.</exception>
    /// <exception cref="RunLeaseException">A driver holds the run's lease.</exception>
    private static async Task<(RunLayout Layout, PlanIndex Index, RunLease Lease)> TakeRunAsync(IObjectStore store, string runId, TimeProvider? time, string? workflow, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var layout = new RunLayout(runId);
        var index = await PlanStore.LoadIndexAsync(store, runId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"run '{runId}' does not exist in {store.Location}");
        return (layout, index, await RunLease.AcquireAsync(store, layout, time ?? TimeProvider.System, cancellationToken, workflow).ConfigureAwait(false));
    }

    /// <summary>The URI of the single output, or of the folder all outputs share.</summary>
    private static string? OutputUri(IObjectStore store, IReadOnlyList<PlanOutput> outputs)
    {
        if (outputs.Count == 0)
        {
            return null;
        }

        if (outputs.Count == 1)
        {
            return store.GetUri(outputs[0].Key);
        }

        var prefix = outputs[0].Key;
        foreach (var output in outputs)
        {
            var length = 0;
            while (length < prefix.Length && length < output.Key.Length && prefix[length] == output.Key[length])
            {
                length++;
            }

            prefix = prefix[..length];
        }

        var slash = prefix.LastIndexOf('/');
        return slash < 0 ? store.Location : store.GetUri(prefix[..(slash + 1)].TrimEnd('/')) + "/";
    }
}
