using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// The attempts of one task that may race: its attempts one after another (the first and its retries, the primary),
/// and at most one backup attempt a <see cref="Speculator"/> starts beside them. Each has its own cancellation; the
/// first attempt to commit is the task's and cancels the other.
/// </summary>
internal abstract class SpeculativeRace : IDisposable
{
    private readonly CancellationToken _run;
    private readonly Lock _gate = new();
    private bool _closed;
    private long _runningSince;
    private int _attempts;
    private int _backupStarted;
    private int _winner;

    protected SpeculativeRace(TaskId task, int attemptsBefore, CancellationToken run)
    {
        Task = task;
        _attempts = attemptsBefore;
        _run = run;
        Primary = CancellationTokenSource.CreateLinkedTokenSource(run);
        Backup = CancellationTokenSource.CreateLinkedTokenSource(run);
    }

    public TaskId Task { get; }

    /// <summary>Cancels the primary attempts (when the backup won).</summary>
    public CancellationTokenSource Primary { get; }

    /// <summary>Cancels the backup attempt (when a primary attempt won).</summary>
    public CancellationTokenSource Backup { get; }

    /// <summary>True when the run, not the race, was cancelled.</summary>
    public bool RunCancelled => _run.IsCancellationRequested;

    /// <summary>The timestamp (<see cref="TimeProvider.GetTimestamp"/>) since which a primary attempt works; 0 while none does.</summary>
    public long RunningSince => Interlocked.Read(ref _runningSince);

    /// <summary>The number of the last attempt started.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    public bool BackupStarted => Volatile.Read(ref _backupStarted) != 0;

    /// <summary>The backup attempt's task once started (see <see cref="StartBackup"/>).</summary>
    public abstract Task? BackupTask { get; }

    /// <summary>The attempt that won, 0 while none has.</summary>
    public int Winner => Volatile.Read(ref _winner);

    /// <summary>The number of the next attempt (primary or backup).</summary>
    public int NextAttempt() => Interlocked.Increment(ref _attempts);

    /// <summary>Tells the race a primary attempt started working (it has its slot or worker), or stopped.</summary>
    public void Running(bool running, long timestamp) => Interlocked.Exchange(ref _runningSince, running ? Math.Max(1, timestamp) : 0);

    /// <summary>Starts the backup attempt, unless one was started or the task is done.</summary>
    public bool TryStartBackup()
    {
        lock (_gate)
        {
            if (_closed || Winner != 0 || RunCancelled || _backupStarted != 0)
            {
                return false;
            }

            _backupStarted = 1;
            StartBackup();
            return true;
        }
    }

    /// <summary>
    /// Ends the race (the task committed or failed): no backup starts any more, and one that runs is cancelled unless
    /// it won. Returns the attempts that may still be ending, disposing the race when they have.
    /// </summary>
    public Task CloseAsync(Task primary)
    {
        lock (_gate)
        {
            _closed = true;
        }

        Task?[] attempts = [primary, BackupTask];

        if (Winner == 0)
        {
            Primary.Cancel();
            Backup.Cancel();
        }

        return DisposeWhenDoneAsync(attempts);
    }

    private async Task DisposeWhenDoneAsync(Task?[] attempts)
    {
        try
        {
            await System.Threading.Tasks.Task.WhenAll(attempts.OfType<Task>()).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Each attempt's outcome was recorded where it ran.
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Why an attempt that lost is cancelled.</summary>
    public string Superseded => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"superseded by attempt {Winner}");

    /// <summary>Records <paramref name="attempt"/> as the winner and cancels the other attempt; false when another won first.</summary>
    public bool Win(int attempt, bool backup)
    {
        if (Interlocked.CompareExchange(ref _winner, attempt, 0) != 0)
        {
            return false;
        }

        (backup ? Primary : Backup).Cancel();
        return true;
    }

    protected abstract void StartBackup();

    public void Dispose()
    {
        Primary.Dispose();
        Backup.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// A <see cref="SpeculativeRace"/> whose attempts end with a <typeparamref name="T"/> (a commit): runs the primary
/// attempts with the retry policy and the backup the <see cref="Speculator"/> starts, and ends with the first commit.
/// </summary>
/// <typeparam name="T">What a committed attempt gives.</typeparam>
internal class AttemptRace<T>(TaskId task, int attemptsBefore, Action<AttemptRace<T>> startBackup, CancellationToken run)
    : SpeculativeRace(task, attemptsBefore, run)
    where T : class
{
    private readonly TaskCompletionSource<T> _won = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The task's commit, once an attempt won.</summary>
    public Task<T> Won => _won.Task;

    /// <summary>The backup attempt: its commit when it won, <see langword="null"/> when it failed or lost.</summary>
    public Task<T?>? BackupAttempt { get; private set; }

    public override Task? BackupTask => BackupAttempt;

    /// <summary>Gives the task's commit (after <see cref="SpeculativeRace.Win"/>).</summary>
    public void Complete(T commit) => _won.TrySetResult(commit);

    /// <summary>The winner could not give the task's commit (after <see cref="SpeculativeRace.Win"/>): the task fails with <paramref name="error"/>.</summary>
    public void Fail(Exception error) => _won.TrySetException(error);

    /// <summary>
    /// Runs the task's primary attempts (<paramref name="attempt"/>, under <paramref name="retry"/>) while
    /// <paramref name="speculator"/> may start one backup beside them; returns the first commit. A primary that fails
    /// for good while the backup still runs does not fail the task unless the backup fails too. An attempt that lost is
    /// cancelled and waited for at the end of the run (<see cref="Speculator.DrainAsync"/>), not here: the task's
    /// readers need not wait for a straggler slow to stop.
    /// </summary>
    public async Task<T> RunAsync(Speculator speculator, TaskRetry<T> retry, Func<CancellationToken, ValueTask<T>> attempt)
    {
        speculator.Register(this);
        var primary = RunPrimaryAsync(retry, attempt);
        try
        {
            if (await System.Threading.Tasks.Task.WhenAny(primary, Won).ConfigureAwait(false) == primary)
            {
                return await primary.ConfigureAwait(false);
            }

            return await Won.ConfigureAwait(false);
        }
        finally
        {
            speculator.Unregister(this);
            speculator.Track(CloseAsync(primary));
        }
    }

    /// <summary>Runs <paramref name="backup"/> as the backup attempt; its failure is the primary attempts' to judge.</summary>
    public void RunBackup(Func<CancellationToken, Task<T>> backup)
    {
        var token = Backup.Token;
        BackupAttempt = System.Threading.Tasks.Task.Run(async () =>
        {
            try
            {
                return await backup(token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Recorded where it ended (failed, or cancelled: a primary attempt won).
                return null;
            }
        });
    }

    protected override void StartBackup() => startBackup(this);

    private async Task<T> RunPrimaryAsync(TaskRetry<T> retry, Func<CancellationToken, ValueTask<T>> attempt)
    {
        try
        {
            return await retry.ExecuteAsync(
                async token =>
                {
                    // A retry waits for a backup that still runs: it may yet commit.
                    if (BackupAttempt is { IsCompleted: false } backup && await backup.WaitAsync(token).ConfigureAwait(false) is { } won)
                    {
                        return won;
                    }

                    return await attempt(token).ConfigureAwait(false);
                },
                Primary.Token).ConfigureAwait(false);
        }
        catch (Exception) when (Winner != 0 && !RunCancelled)
        {
            return await Won.ConfigureAwait(false);
        }
        catch (Exception ex) when (!RunCancelled && ex is not InputLostException && BackupAttempt is not null)
        {
            // Failed for good while the backup runs: the task fails only if the backup fails too.
            if (await BackupAttempt.ConfigureAwait(false) is { } won)
            {
                return won;
            }

            throw;
        }
    }
}

/// <summary>
/// An <see cref="AttemptRace{T}"/> whose attempts commit in this process (the local executor): an attempt claims the
/// task's commit before it writes its marker, so only the first writes one.
/// </summary>
internal sealed class CommitRace(TaskId task, int attemptsBefore, Action<AttemptRace<CommitMarker>> startBackup, CancellationToken run)
    : AttemptRace<CommitMarker>(task, attemptsBefore, startBackup, run)
{
    private TaskCompletionSource<bool>? _claim;

    /// <summary>
    /// Claims the task's commit for an attempt about to write its marker: true when it may; false when another attempt
    /// committed. While another holds the claim this waits for its commit, and claims again if that failed.
    /// </summary>
    public async ValueTask<bool> ClaimAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var mine = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var held = Interlocked.CompareExchange(ref _claim, mine, null);
            if (held is null)
            {
                return true;
            }

            if (await held.Task.WaitAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }
    }

    /// <summary>Ends a claim: the marker was stored (the attempt won), or not (<see langword="null"/>: another attempt may claim).</summary>
    public void Release(CommitMarker? committed, bool backup)
    {
        var claim = Volatile.Read(ref _claim)!;
        if (committed is null)
        {
            Volatile.Write(ref _claim, null);
            claim.TrySetResult(false);
            return;
        }

        Win(committed.Attempt, backup);
        Complete(committed);
        claim.TrySetResult(true);
    }
}
