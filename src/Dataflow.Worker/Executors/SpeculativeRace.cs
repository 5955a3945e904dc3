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
    public string Superseded => $"superseded by attempt {Winner}";

    /// <summary>Records <paramref name="attempt"/> as the winner and cancels the other attempt.</summary>
    protected bool Win(int attempt, bool backup)
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
/// A <see cref="SpeculativeRace"/> whose attempts commit in this process (the local executor): an attempt claims the
/// task's commit before it writes its marker, so only the first writes one.
/// </summary>
internal sealed class CommitRace(TaskId task, int attemptsBefore, Action<CommitRace> startBackup, CancellationToken run)
    : SpeculativeRace(task, attemptsBefore, run)
{
    private readonly TaskCompletionSource<CommitMarker> _won = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<bool>? _claim;

    /// <summary>The winner's marker, once an attempt committed.</summary>
    public Task<CommitMarker> Won => _won.Task;

    /// <summary>The backup attempt: its marker when it committed, <see langword="null"/> when it failed or lost.</summary>
    public Task<CommitMarker?>? BackupAttempt { get; set; }

    public override Task? BackupTask => BackupAttempt;

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
        _won.TrySetResult(committed);
        claim.TrySetResult(true);
    }

    protected override void StartBackup() => startBackup(this);
}
