using Dataflow.Execution.Runs;

namespace Dataflow.Execution.Local;

/// <summary>Runs a plan's tasks in this process on a bounded number of workers, each task as soon as its own dependencies have committed.</summary>
internal static class LocalExecutor
{
    /// <summary>
    /// Runs the session's tasks; at most <paramref name="concurrency"/> operators work at once (the runner's slots),
    /// while up to eight times as many tasks may be in flight, most of them waiting for a group commit.
    /// </summary>
    public static Task ExecuteAsync(RunSession session, int concurrency, CancellationToken cancellationToken) =>
        DagScheduler.RunAsync(
            session.Graph,
            done: null,
            Math.Max(16, concurrency * 8),
            (index, token) => session.RunTaskAsync(session.Graph.IdOf(index), token),
            cancellationToken);
}
