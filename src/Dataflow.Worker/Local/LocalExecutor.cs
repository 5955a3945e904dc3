using Dataflow.Execution.Runs;

namespace Dataflow.Execution.Local;

/// <summary>Runs a plan's tasks in this process on a bounded number of workers, each task as soon as its own dependencies have committed.</summary>
internal static class LocalExecutor
{
    public static Task ExecuteAsync(RunSession session, int concurrency, CancellationToken cancellationToken) =>
        DagScheduler.RunAsync(
            session.Graph,
            done: null,
            concurrency,
            (index, token) => session.RunTaskAsync(session.Graph.IdOf(index), token),
            cancellationToken);
}
