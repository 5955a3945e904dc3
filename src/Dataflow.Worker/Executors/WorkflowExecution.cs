using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>A stored run as a <see cref="WorkflowExecutor"/> sees it: what to submit and where the outcome will be.</summary>
public sealed class WorkflowExecution
{
    private readonly RunLayout _layout;
    private readonly RunLease? _lease;

    internal WorkflowExecution(Plan plan, IObjectStore store, JobRunnerOptions options, RunProgress progress, RunLease? lease = null)
    {
        _lease = lease;
        Plan = plan;
        Store = store;
        Options = options;
        Progress = progress;
        _layout = RunLayout.Of(plan);
        PlanUri = store.GetUri(_layout.PlanKey);
    }

    /// <summary>The run's plan, already stored.</summary>
    public Plan Plan { get; }

    /// <summary>The run's store.</summary>
    public IObjectStore Store { get; }

    /// <summary>The address of the stored plan, which the workflow's pods are given.</summary>
    public string PlanUri { get; }

    /// <summary>The runner's options.</summary>
    public JobRunnerOptions Options { get; }

    /// <summary>The run's progress, for a display.</summary>
    public RunProgress Progress { get; }

    /// <summary>Shows the run as running on the progress display: the workflow was submitted.</summary>
    public void Started() => Progress.SetPhase(RunPhases.Running);

    /// <summary>
    /// Records that the driver's lease of the run is held for workflow <paramref name="workflow"/>, just submitted:
    /// its steps (<c>publish</c> and <c>finish</c>, given <c>--workflow</c>) join the lease rather than take it, and
    /// the run shows as running until the driver ends. Call it as soon as the workflow has its name.
    /// </summary>
    /// <exception cref="ObjectStoreException">The lease could not be written.</exception>
    public Task HoldLeaseForAsync(string workflow, CancellationToken cancellationToken) =>
        _lease?.HoldForWorkflowAsync(workflow, cancellationToken) ?? Task.CompletedTask;

    /// <summary>Shows a task of stage <paramref name="stage"/> as committed on the progress display.</summary>
    public void TaskCommitted(int stage)
    {
        Progress.TaskCommitted(stage);
    }

    /// <summary>
    /// The summary the workflow stored at its end (its <c>finish</c> step), or <see langword="null"/> when there is
    /// none or it cannot be read.
    /// </summary>
    public async Task<RunSummary?> ReadSummaryAsync(CancellationToken cancellationToken)
    {
        try
        {
            return RunRecords.DeserializeSummary(await Store.ReadAllBytesAsync(_layout.SummaryKey, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is InvalidDataException or ObjectStoreException)
        {
            return null;
        }
    }

    /// <summary>A summary of this run with <paramref name="status"/> and no task counts (its tasks ran where the driver could not count them).</summary>
    public RunSummary SummaryWithoutTasks(string status, string? error) => RunSteps.SummaryWithoutTasks(Plan, status, error, wallMs: 0, intermediateObjectsLeft: 0);
}
