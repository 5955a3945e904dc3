namespace Dataflow.Worker;

/// <summary>Runs a plan's tasks in this process on a bounded number of workers, each task as soon as its own dependencies have committed.</summary>
internal sealed class LocalExecutor : TaskExecutor
{
    public override string Name => "local";

    /// <inheritdoc/>
    public override bool CanTolerateFailedTasks => true;

    /// <inheritdoc/>
    internal override bool CanSpeculate => true;

    /// <summary>
    /// Runs the tasks; at most <see cref="JobRunnerOptions.Concurrency"/> operators work at once (the runner's slots),
    /// while up to <see cref="InFlight"/> tasks may be in flight, most of them waiting for a group commit: the more
    /// that wait together, the fewer commit records a level of small tasks needs.
    /// </summary>
    public override Task ExecuteAsync(TaskExecution execution, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        if (execution.Session.Speculator is { } speculator && execution.Session.Runner.Slots is { } slots)
        {
            // A backup takes only a slot that no ready task waits for.
            var load = execution.Load;
            speculator.FreeCapacity = () => load.Ready == 0 ? slots.CurrentCount : 0;
        }

        return execution.RunWhenReadyAsync(InFlight(execution.Options.Concurrency), execution.RunInProcessAsync, cancellationToken);
    }

    /// <summary>Tasks in flight at once for a given operator concurrency.</summary>
    public static int InFlight(int concurrency) => Math.Max(256, concurrency * 16);
}
