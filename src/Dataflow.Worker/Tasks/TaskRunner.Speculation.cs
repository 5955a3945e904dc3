using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>Speculative attempts of tasks that run in this process (see <see cref="SpeculationOptions"/>).</summary>
internal sealed partial class TaskRunner
{
    /// <summary>Watches running attempts for stragglers and starts their backups, if set (speculation is on).</summary>
    public Speculator? Speculator { get; init; }

    /// <summary>
    /// Runs a task's attempts (<paramref name="attempt"/>, with the retry policy) while the <see cref="Speculator"/> may
    /// start one backup beside them: the task's commit is the first attempt's to commit. A primary attempt that fails
    /// for good while the backup still runs does not fail the task until the backup failed too. An attempt that lost
    /// is cancelled, and is waited for at the end of the run (<see cref="Speculator.DrainAsync"/>), not here: the
    /// task's readers need not wait for a straggler that ignores its cancellation.
    /// </summary>
    private async Task<CommitMarker> RaceAsync(CommitRace race, Func<CancellationToken, ValueTask<CommitMarker>> attempt)
    {
        var speculator = Speculator!;
        speculator.Register(race);
        var primary = RunPrimaryAsync(race, attempt);
        try
        {
            if (await Task.WhenAny(primary, race.Won).ConfigureAwait(false) == primary)
            {
                return await primary.ConfigureAwait(false);
            }

            return await race.Won.ConfigureAwait(false);
        }
        finally
        {
            speculator.Unregister(race);
            speculator.Track(race.CloseAsync(primary));
        }
    }

    private async Task<CommitMarker> RunPrimaryAsync(CommitRace race, Func<CancellationToken, ValueTask<CommitMarker>> attempt)
    {
        try
        {
            return await _retry.ExecuteAsync(
                async token =>
                {
                    // A retry waits for a backup that still runs: it may yet commit.
                    if (race.BackupAttempt is { IsCompleted: false } backup && await backup.WaitAsync(token).ConfigureAwait(false) is { } won)
                    {
                        return won;
                    }

                    return await attempt(token).ConfigureAwait(false);
                },
                race.Primary.Token).ConfigureAwait(false);
        }
        catch (Exception) when (race.Won.IsCompletedSuccessfully)
        {
            return race.Won.Result;
        }
        catch (Exception ex) when (!race.RunCancelled && ex is not InputLostException && race.BackupAttempt is not null)
        {
            // Failed for good while the backup runs: the task fails only if the backup fails too.
            if (await race.BackupAttempt.ConfigureAwait(false) is { } won)
            {
                return won;
            }

            throw;
        }
    }

    /// <summary>Starts <paramref name="race"/>'s backup attempt (called by the <see cref="Speculator"/>), with the next attempt number.</summary>
    private void StartBackup(CommitRace race, PlanTask task, string stage)
    {
        var attempt = race.NextAttempt();
        _counters.AttemptStarted(stage, isRetry: false);
        _counters.AttemptSpeculated();
        AttemptStarted?.Invoke(race.Task, attempt);
        race.BackupAttempt = Task.Run(async () =>
        {
            try
            {
                return await RunAttemptAsync(race.Task, task, attempt, race.Backup.Token, race, speculative: true).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Recorded where it ended (failed, or cancelled: the primary won); the primary attempts decide the task.
                return null;
            }
        });
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
