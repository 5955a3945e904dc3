namespace Dataflow.Worker;

/// <summary>
/// Where a run's tasks run: <see cref="Local"/> (the default: in this process), <see cref="WorkerProcesses(ProcessExecutorOptions)"/> (a pool
/// of worker processes of the same program, each task committed as a pod commits it), or a cluster executor from
/// <c>Dataflow.Kubernetes</c>. Set it with <see cref="JobRunnerOptions.Executor"/>.
/// </summary>
/// <remarks>
/// There are two kinds. A <see cref="TaskExecutor"/> runs tasks while the <see cref="JobRunner"/> drives the run: it
/// holds the lease, reads the commits, collects garbage and publishes. A <see cref="WorkflowExecutor"/> hands the whole
/// stored run to a system that drives it itself (an Argo Workflow runs its stages, its publish step and its clean-up)
/// and follows it to the end.
/// </remarks>
public abstract class Executor
{
    private protected Executor()
    {
    }

    /// <summary>The embedded default: every task in this process, on <see cref="JobRunnerOptions.Concurrency"/> workers.</summary>
    public static TaskExecutor Local { get; } = new LocalExecutor();

    /// <summary>
    /// Every task in a pool of long-lived worker processes of the same program, at most
    /// <see cref="JobRunnerOptions.Concurrency"/>, each started as <c>&lt;command&gt; worker --plan &lt;uri&gt; --serve</c>
    /// and handed one task at a time on its standard input (see <see cref="TaskWorker.ServeAsync"/>); each task commits
    /// as in a pod. The workers define the job again from <see cref="JobRunnerOptions.Arguments"/>, which must be set:
    /// a program that runs its jobs from code serves them with <c>DataflowCommands.TryRunAsync(args, defineJob)</c>
    /// (Dataflow.Hosting) first in its <c>Main</c>, and starts itself with <see cref="WorkerProcesses()"/>.
    /// </summary>
    /// <param name="options">The worker program and what it is given.</param>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public static TaskExecutor WorkerProcesses(ProcessExecutorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new ProcessExecutor(options);
    }

    /// <summary>
    /// <see cref="WorkerProcesses(ProcessExecutorOptions)"/> of the current program (<see cref="ProcessExecutorOptions.CurrentProgram"/>):
    /// what a program that is its own worker process chooses.
    /// </summary>
    /// <exception cref="InvalidOperationException">The current program's executable or entry assembly is unknown.</exception>
    public static TaskExecutor WorkerProcesses() =>
        WorkerProcesses(new ProcessExecutorOptions { Command = ProcessExecutorOptions.CurrentProgram() });

    /// <summary>The executor's name in reports and logs, e.g. <c>local</c>, <c>process</c>, <c>kubernetes</c>, <c>argo</c>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// True when the tasks run in other processes — worker processes, pods — that define the job again from the
    /// run's stored arguments: <see cref="JobRunnerOptions.Validate"/> then requires <see cref="JobRunnerOptions.Arguments"/>.
    /// Default <see langword="false"/>.
    /// </summary>
    public virtual bool DefinesJobFromArguments => false;

    /// <summary>
    /// True when a run may go on without a task that failed for good (<see cref="JobRunnerOptions.MaxFailedInputs"/>):
    /// the executor runs its tasks through <see cref="TaskExecution.RunWhenReadyAsync"/>, where the driver records a
    /// tolerated failure as the task's commit. The local and process executors do; the cluster executors, whose stages
    /// fail as a whole, do not. Default <see langword="false"/>.
    /// </summary>
    public virtual bool CanTolerateFailedTasks => false;

    /// <summary>
    /// True when the executor runs each attempt under the driver on a slot or worker process of its own, so that one
    /// task can get a backup attempt (<see cref="JobRunnerOptions.Speculation"/>): the local and process executors. A
    /// cluster executor's pod runs a shard of tasks, and cannot.
    /// </summary>
    internal virtual bool CanSpeculate => false;

    /// <summary>Throws when the executor's settings are not valid; called when a <see cref="JobRunner"/> is created.</summary>
    /// <exception cref="ArgumentException">A setting is not valid; the message names it.</exception>
    public virtual void Validate()
    {
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// An executor that runs the tasks of a run the <see cref="JobRunner"/> drives. It starts each task once its own
/// inputs have committed (or a whole stage at a time), reports each commit through <see cref="TaskExecution"/>, and
/// returns when every task has committed; it throws <see cref="TaskFailedException"/> for a task that failed for good.
/// </summary>
public abstract class TaskExecutor : Executor
{
    /// <summary>Creates an executor.</summary>
    protected TaskExecutor()
    {
    }

    /// <summary>Runs every task of <paramref name="execution"/>'s plan that has not committed.</summary>
    /// <param name="execution">The run: its plan, store, options, what has committed, and where to report.</param>
    /// <param name="cancellationToken">Stops the tasks; nothing may go on running (and committing) after it returns.</param>
    /// <exception cref="TaskFailedException">A task failed on every attempt.</exception>
    public abstract Task ExecuteAsync(TaskExecution execution, CancellationToken cancellationToken);
}

/// <summary>
/// An executor that runs a whole stored run by itself — stages, publishing, clean-up and the summary — and follows it
/// to its end: a workflow engine such as Argo Workflows. The <see cref="JobRunner"/> plans and stores the run, then
/// hands it over; on cancellation it aborts the run's incomplete uploads and stores a summary of a cancelled run.
/// </summary>
public abstract class WorkflowExecutor : Executor
{
    /// <summary>Creates an executor.</summary>
    protected WorkflowExecutor()
    {
    }

    /// <summary>Runs the stored run of <paramref name="execution"/> to its end.</summary>
    /// <param name="execution">The stored run.</param>
    /// <param name="cancellationToken">Stops the run; the executor must stop what it started before it returns.</param>
    /// <returns>The summary of the run, as the workflow stored it.</returns>
    /// <exception cref="JobFailedException">The run failed.</exception>
    public abstract Task<RunSummary> ExecuteAsync(WorkflowExecution execution, CancellationToken cancellationToken);
}
