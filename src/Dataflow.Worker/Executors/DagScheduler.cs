using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Dataflow.Worker;

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
    /// <param name="load">Filled in with the run's live load, for callers that pace themselves by it; optional.</param>
    public static async Task RunAsync(DagGraph graph, bool[]? done, int concurrency, Func<int, CancellationToken, ValueTask> execute, CancellationToken cancellationToken, SchedulerLoad? load = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var count = graph.Count;
        var waiting = (int[])graph.DependencyCounts.Clone();
        var pending = count;

        // Which tasks were done when the run started, kept apart from the caller's array (which the run changes): a
        // task done then is never run, even when a dependency of it was not done and finishes during the run (a task
        // taken from the task cache whose producer's entry was not usable).
        var doneAtStart = done is null ? null : (bool[])done.Clone();
        if (doneAtStart is not null)
        {
            for (var i = 0; i < count; i++)
            {
                if (doneAtStart[i])
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
            if (waiting[i] == 0 && doneAtStart?[i] != true)
            {
                ready.Writer.TryWrite(i);
                released++;
            }
        }

        if (released == 0)
        {
            throw new InvalidOperationException($"none of the {pending} unfinished tasks can start: their dependencies form a cycle");
        }

        var workerCount = Math.Min(concurrency, count);
        load ??= new SchedulerLoad();
        load.Start(ready.Reader, workerCount);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ExceptionDispatchInfo? failure = null;

        async Task WorkAsync()
        {
            try
            {
                await foreach (var i in ready.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref load.Active);
                    try
                    {
                        await execute(i, stop.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref load.Active);
                    }

                    foreach (var d in graph.Dependents[i])
                    {
                        if (Interlocked.Decrement(ref waiting[d]) == 0 && doneAtStart?[d] != true)
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

        var workers = new Task[workerCount];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(WorkAsync, CancellationToken.None);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        failure?.Throw();
        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>The live load of a scheduler run: how many tasks wait in its queue and how many workers are busy.</summary>
internal sealed class SchedulerLoad
{
    private ChannelReader<int>? _ready;
    private int _workers;

    /// <summary>Workers running a task now.</summary>
    internal int Active;

    /// <summary>True when a queued task could start right now: some task is ready and some worker is free.</summary>
    public bool CanStartMore => _ready is { } ready && ready.Count > 0 && Volatile.Read(ref Active) < _workers;

    /// <summary>Tasks ready to start that wait in the queue for a worker of the scheduler.</summary>
    public int Ready => _ready?.Count ?? 0;

    internal void Start(ChannelReader<int> ready, int workers)
    {
        _workers = workers;
        _ready = ready;
    }
}
