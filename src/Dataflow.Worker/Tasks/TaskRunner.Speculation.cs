using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>Speculative attempts of tasks that run in this process (see <see cref="SpeculationOptions"/>).</summary>
internal sealed partial class TaskRunner
{
    /// <summary>Watches running attempts for stragglers and starts their backups, if set (speculation is on).</summary>
    public Speculator? Speculator { get; init; }

    /// <summary>Runs a task's attempts while the <see cref="Speculator"/> may start a backup beside them (see <see cref="AttemptRace{T}.RunAsync"/>).</summary>
    private Task<CommitMarker> RaceAsync(CommitRace race, Func<CancellationToken, ValueTask<CommitMarker>> attempt) =>
        race.RunAsync(Speculator!, _retry, attempt);

    /// <summary>Starts <paramref name="race"/>'s backup attempt (called by the <see cref="Speculator"/>), with the next attempt number.</summary>
    private void StartBackup(CommitRace race, PlanTask task, string stage)
    {
        var attempt = race.NextAttempt();
        _counters.AttemptStarted(stage, isRetry: false);
        _counters.AttemptSpeculated();
        AttemptStarted?.Invoke(race.Task, attempt);
        
        // A backup is limited to the task timeout as every attempt is (worker processes time theirs in the executor).
        race.RunBackup(token => _retry.RunOnceAsync(t => new ValueTask<CommitMarker>(RunAttemptAsync(race.Task, task, attempt, t, race, speculative: true)), token).AsTask());
    }

    private async Task CommitAsync(CommitMarker marker, CommitRace? race, bool speculative)
    {
        try
        {
            await _commit(marker).ConfigureAwait(false);
        }
        catch (Exception)
        {
            race?.Release(null, speculative);
            throw;
        }

        if (race is not null)
        {
            race.Release(marker, speculative);
            if (speculative)
            {
                _counters.SpeculationWon();
            }
        }
    }
}
