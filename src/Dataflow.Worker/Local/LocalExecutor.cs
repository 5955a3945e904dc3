using Dataflow.Execution.Runs;

namespace Dataflow.Execution.Local;

/// <summary>Runs a plan's tasks in this process on a bounded number of workers, each task as soon as its own dependencies have committed.</summary>
internal static class LocalExecutor
{
    /// <summary>
    /// Runs the session's tasks; at most <paramref name="concurrency"/> operators work at once (the runner's slots),
    /// while up to <see cref="InFlight"/> tasks may be in flight, most of them waiting for a group commit: the more
    /// that wait together, the fewer commit records a level of small tasks needs.
    /// </summary>
    public static Task ExecuteAsync(RunSession session, int concurrency, bool[]? done, CancellationToken cancellationToken, SchedulerLoad? load = null) =>
        DagScheduler.RunAsync(
            session.Graph,
            done,
            InFlight(concurrency),
            (index, token) => session.RunTaskAsync(session.Graph.IdOf(index), token),
            cancellationToken,
            load);

    /// <summary>Tasks in flight at once for a given operator concurrency.</summary>
    public static int InFlight(int concurrency) => Math.Max(256, concurrency * 16);
}
