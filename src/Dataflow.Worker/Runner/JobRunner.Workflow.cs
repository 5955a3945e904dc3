using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>How a <see cref="JobRunner"/> hands a stored run to a workflow executor, and what a cancelled run says.</summary>
public sealed partial class JobRunner
{
    /// <summary>
    /// Hands the stored plan to <paramref name="executor"/> (e.g. an Argo Workflow) and returns the summary it stored.
    /// Cancelling stops the workflow; then the driver does what the workflow's clean-up would have done on failure
    /// (abort incomplete uploads, keep what committed) and stores a summary of a cancelled run.
    /// </summary>
    private async Task<RunResult> RunWorkflowAsync(Plan plan, RunLayout layout, WorkflowExecutor executor, RunLease lease, RunProgress progress, CancellationToken cancellationToken)
    {
        progress.SetPlan(plan);

        // A cancel request addressed to this driver stops the workflow as Ctrl+C does: the executor deletes it.
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.CancelRequested);
        try
        {
            var summary = await executor.ExecuteAsync(new WorkflowExecution(plan, _store, _options, progress, lease), run.Token).ConfigureAwait(false);
            progress.SetPhase(RunPhases.Done);
            return new RunResult(summary, plan);
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            progress.SetPhase(RunPhases.CleaningUp);
            var left = (await Sweeper.CleanAsync(_store, layout, keepData: true, CancellationToken.None).ConfigureAwait(false)).ObjectsLeft;
            var wallMs = (long)(_options.TimeProvider.GetUtcNow() - plan.CreatedAt).TotalMilliseconds;
            var summary = RunSteps.SummaryWithoutTasks(plan, "cancelled", CancelledOnRequest(lease, cancellationToken), wallMs, left);
            await PutSummaryAsync(summary, CancellationToken.None).ConfigureAwait(false);
            progress.SetPhase(RunPhases.Done);
            throw new RunCancelledException(layout.RunId, plan.Job, summary, cancellationToken.IsCancellationRequested ? cancellationToken : lease.CancelRequested);
        }
    }

    /// <summary>
    /// What the summary of a cancelled run says when a request cancelled it (who asked, when, why); <see langword="null"/>
    /// when this driver's own token did (Ctrl+C), which needs no words.
    /// </summary>
    private static string? CancelledOnRequest(RunLease lease, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && lease.CancelRequest is { } request ? request.Describe() : null;
}
