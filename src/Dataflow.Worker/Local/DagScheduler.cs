using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Dataflow.Execution.Local;

/// <summary>
/// Runs the tasks of a dependency graph on a fixed number of workers. A task starts as soon as every task it
/// depends on has finished — there is no stage barrier. The first failure cancels the rest and is rethrown.
/// </summary>
internal static class DagScheduler
{
    /// <summary>Runs every task not already <paramref name="done"/>.</summary>
    /// <param name="graph">The tasks and their dependencies.</param>
    /// <param name="done">Tasks finished before (e.g. committed by an earlier run); <see langword="null"/> for none.</param>
    /// <param name="concurrency">Tasks running at once.</param>
    /// <param name="execute">Runs one task; its completion releases the task's dependents.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public static async Task RunAsync(DagGraph graph, bool[]? done, int concurrency, Func<int, CancellationToken, ValueTask> execute, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var count = graph.Count;
        var waiting = (int[])graph.DependencyCounts.Clone();
        var pending = count;
        if (done is not null)
        {
            for (var i = 0; i < count; i++)
            {
                if (done[i])
                {
                    pending--;
                    foreach (var d in graph.Dependents[i])
                    {
                        waiting[d]--;
                    }
                }
            }
        }

        if (pending == 0)
        {
            return;
        }

        // The queue holds only task indexes and can never hold more than every task, so its capacity is the task
        // count: TryWrite always succeeds and a finishing task never waits to release its dependents.
        var ready = Channel.CreateBounded<int>(new BoundedChannelOptions(count) { SingleReader = false, SingleWriter = false });
        var released = 0;
        for (var i = 0; i < count; i++)
        {
            if (waiting[i] == 0 && done?[i] != true)
            {
                ready.Writer.TryWrite(i);
                released++;
            }
        }

        if (released == 0)
        {
            throw new InvalidOperationException($"none of the {pending} unfinished tasks can start: their dependencies form a cycle");
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ExceptionDispatchInfo? failure = null;

        async Task WorkAsync()
        {
            try
            {
                await foreach (var i in ready.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    await execute(i, stop.Token).ConfigureAwait(false);
                    foreach (var d in graph.Dependents[i])
                    {
                        if (Interlocked.Decrement(ref waiting[d]) == 0)
                        {
                            ready.Writer.TryWrite(d);
                        }
                    }

                    if (Interlocked.Decrement(ref pending) == 0)
                    {
                        ready.Writer.TryComplete();
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(ex), null);
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }

        var workers = new Task[Math.Min(concurrency, count)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(WorkAsync, CancellationToken.None);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        failure?.Throw();
        cancellationToken.ThrowIfCancellationRequested();
    }
}
