using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>One attempt of a <see cref="WorkerRace"/>, as the report shows it.</summary>
/// <param name="Attempt">Its number.</param>
/// <param name="Speculative">True for the backup.</param>
/// <param name="Row">Its worker's timeline row.</param>
/// <param name="StartMs">When it started, on the report's clock.</param>
/// <param name="EndMs">When it ended.</param>
/// <param name="Report">What its worker reported, if it did.</param>
internal sealed record RacedAttempt(int Attempt, bool Speculative, int Row, double StartMs, double EndMs, WorkerReport? Report);

/// <summary>
/// The race of a task's attempts in worker processes, which commit on their own: two markers may exist. The first
/// attempt to report its commit wins the race; the other's worker is killed and waited for, and only then is the task's
/// commit read from the store (the smallest attempt id of those committed, as every reader takes it): nothing can
/// commit any more, so it is stable. A loser that committed too has its own objects deleted; the winner records both
/// attempts, each as what the commit read says it is.
/// </summary>
internal sealed class WorkerRace(TaskId task, Action<AttemptRace<TaskCommit>> startBackup, CancellationToken run)
    : AttemptRace<TaskCommit>(task, 0, startBackup, run)
{
    private readonly Lock _records = new();
    private readonly List<RacedAttempt> _deferred = [];
    private readonly List<Task> _running = [];
    private bool _recorded;

    /// <summary>An attempt starts: the returned entry ends (is disposed) once its worker is given back or killed and gone.</summary>
    public Entry Enter()
    {
        var entry = new Entry();
        lock (_records)
        {
            _running.Add(entry.Ended);
        }

        return entry;
    }

    /// <summary>Leaves a losing attempt to the winner to record; false when the winner recorded already (the caller records it).</summary>
    public bool Defer(RacedAttempt attempt)
    {
        lock (_records)
        {
            if (_recorded)
            {
                return false;
            }

            _deferred.Add(attempt);
            return true;
        }
    }

    /// <summary>
    /// An attempt's worker reported its commit: wins the race, or throws <see cref="OperationCanceledException"/> when
    /// another attempt did first. The winner waits for the other attempt to end, reads the task's commit, records the
    /// attempts and deletes the objects of a loser that committed too.
    /// </summary>
    public async Task<TaskCommit> CommittedAsync(TaskExecution execution, Entry mine, RacedAttempt attempt, CancellationToken cancellationToken)
    {
        if (!Win(attempt.Attempt, attempt.Speculative))
        {
            throw new OperationCanceledException(Superseded, null, cancellationToken);
        }

        try
        {
            Task[] others;
            lock (_records)
            {
                others = [.. _running.Where(t => t != mine.Ended)];
            }

            await System.Threading.Tasks.Task.WhenAll(others).WaitAsync(cancellationToken).ConfigureAwait(false);
            var commit = await execution.FindCommitAsync(Task, cancellationToken).ConfigureAwait(false)
                ?? throw new WorkerProcessException($"attempt {attempt.Attempt} of task {Task} reported its commit, but no commit record of the task is in the store");
            RacedAttempt[] losers;
            lock (_records)
            {
                _recorded = true;
                losers = [.. _deferred];
            }

            foreach (var raced in losers.Prepend(attempt))
            {
                var won = raced.Attempt == commit.Attempt;
                execution.RecordRacedAttempt(Task, raced.Attempt, raced.Row, raced.StartMs, raced.EndMs, won ? AttemptOutcome.Committed : AttemptOutcome.Cancelled,
                    raced.Report?.BytesRead ?? 0, raced.Report?.BytesWritten ?? 0, won ? null : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"superseded by attempt {commit.Attempt}"), raced.Speculative, raced.Report?.Resources);
                if (won && raced.Speculative)
                {
                    execution.Session.Counters.SpeculationWon();
                }
            }

            await execution.Session.DiscardLosersAsync(Task, commit.AttemptId, cancellationToken).ConfigureAwait(false);
            Complete(commit);
            return commit;
        }
        catch (Exception ex)
        {
            Fail(ex);
            throw;
        }
    }

    /// <summary>An attempt of the race, until it ended.</summary>
    internal sealed class Entry : IDisposable
    {
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Ended => _ended.Task;

        public void Dispose() => _ended.TrySetResult();
    }
}
