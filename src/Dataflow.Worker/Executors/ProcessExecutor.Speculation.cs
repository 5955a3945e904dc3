namespace Dataflow.Worker;

/// <summary>Speculative attempts of the process executor: a backup attempt on a free worker process.</summary>
internal sealed partial class ProcessExecutor
{
    /// <summary>
    /// Lets <paramref name="speculator"/> start backups on workers of <paramref name="pool"/> that are free while no
    /// ready task waits for one; <see cref="IDisposable.Dispose"/> stops it (the pool is closing).
    /// </summary>
    private static Stopping SpeculateOn(Speculator? speculator, TaskExecution execution, WorkerPool pool)
    {
        if (speculator is null)
        {
            return new Stopping(null);
        }

        var load = execution.Load;
        speculator.FreeCapacity = () => load.Ready == 0 ? pool.Free : 0;
        return new Stopping(speculator);
    }

    /// <summary>Starts <paramref name="race"/>'s backup attempt on a worker of <paramref name="pool"/> (called by the <see cref="Speculator"/>).</summary>
    private static void StartBackup(TaskExecution execution, TaskRetry<TaskCommit> pipeline, WorkerPool pool, Lazy<int> rows, WorkerRace race)
    {
        var attempt = race.NextAttempt();
        execution.AttemptStarted(race.Task.Stage, isRetry: false);
        execution.Session.Counters.AttemptSpeculated();
        race.RunBackup(token => RunAttemptAsync(execution, pipeline, pool, rows, race.Task, attempt, race, speculative: true, token));
    }

    private readonly struct Stopping(Speculator? speculator) : IDisposable
    {
        public void Dispose()
        {
            speculator?.FreeCapacity = static () => 0;
        }
    }
}
