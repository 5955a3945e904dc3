namespace Dataflow.Worker;

/// <summary>
/// The process executor's pool: at most <c>size</c> long-lived worker processes, started as tasks need them and kept
/// for the run. An attempt rents a worker, runs one task on it and gives it back; a worker that died, timed out or
/// broke the protocol is let go of and its slot filled by a new process when a task next needs one.
/// </summary>
internal sealed class WorkerPool(ProcessExecutorOptions options, string planUri, int size) : IAsyncDisposable
{
    /// <summary>How long workers told to exit at the end of a run have before they are killed.</summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _free = new(size, size);
    private readonly Lock _gate = new();
    private readonly Stack<PooledWorker> _idle = new();
    private readonly HashSet<PooledWorker> _live = [];
    private readonly bool[] _slots = new bool[size];
    private bool _closed;

    /// <summary>Workers that may be rented now without waiting: idle ones and free slots.</summary>
    public int Free => _free.CurrentCount;

    /// <summary>
    /// Starts up to <paramref name="count"/> workers now, idle, for the tasks that are ready. One that cannot be started
    /// is not: the task that needs it will say why.
    /// </summary>
    public void Prestart(int count)
    {
        for (var i = 0; i < count; i++)
        {
            int slot;
            lock (_gate)
            {
                slot = Array.IndexOf(_slots, false);
                if (_closed || slot < 0)
                {
                    return;
                }

                _slots[slot] = true;
            }

            PooledWorker worker;
            try
            {
                worker = PooledWorker.Start(options, planUri, slot);
            }
            catch (WorkerProcessException)
            {
                lock (_gate)
                {
                    _slots[slot] = false;
                }

                return;
            }

            lock (_gate)
            {
                _live.Add(worker);
                _idle.Push(worker);
            }
        }
    }

    /// <summary>An idle worker, or a new one in the lowest free slot; waits while all <c>size</c> are busy.</summary>
    /// <exception cref="WorkerProcessException">A new worker could not be started.</exception>
    public async ValueTask<PooledWorker> RentAsync(CancellationToken cancellationToken)
    {
        await _free.WaitAsync(cancellationToken).ConfigureAwait(false);
        var slot = -1;
        try
        {
            while (true)
            {
                PooledWorker? gone;
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_closed, this);
                    if (!_idle.TryPop(out gone))
                    {
                        slot = Array.IndexOf(_slots, false);
                        _slots[slot] = true;
                        break;
                    }

                    if (gone.IsUsable)
                    {
                        return gone;
                    }

                    // It died while idle (killed from outside): let go of it, and no task is charged for it.
                    _live.Remove(gone);
                    _slots[gone.Slot] = false;
                }

                await gone.DisposeAsync().ConfigureAwait(false);
            }

            var worker = PooledWorker.Start(options, planUri, slot);
            lock (_gate)
            {
                _live.Add(worker);
                if (!_closed)
                {
                    return worker;
                }
            }

            await worker.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(WorkerPool));
        }
        catch
        {
            lock (_gate)
            {
                if (slot >= 0)
                {
                    _slots[slot] = false;
                }
            }

            _free.Release();
            throw;
        }
    }

    /// <summary>
    /// Gives back a rented worker: to the idle ones when <paramref name="usable"/> and it is, otherwise it is killed
    /// (if it still runs), waited for, and its slot freed.
    /// </summary>
    public async ValueTask ReturnAsync(PooledWorker worker, bool usable)
    {
        ArgumentNullException.ThrowIfNull(worker);
        var keep = false;
        lock (_gate)
        {
            if (usable && !_closed && worker.IsUsable)
            {
                _idle.Push(worker);
                keep = true;
            }
            else if (_live.Remove(worker))
            {
                _slots[worker.Slot] = false;
            }
        }

        try
        {
            if (!keep)
            {
                await worker.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _free.Release();
        }
    }

    /// <summary>
    /// Ends every worker and waits for all of them to exit: told to exit (their standard input ends) and given
    /// <see cref="ShutdownGrace"/> at the end of a run, or killed at once (<paramref name="kill"/>) when the run
    /// failed or was cancelled. No task can be rented afterwards.
    /// </summary>
    public async Task CloseAsync(bool kill)
    {
        PooledWorker[] workers;
        lock (_gate)
        {
            _closed = true;
            workers = [.. _live];
            _live.Clear();
            _idle.Clear();
        }

        await Task.WhenAll(workers.Select(w => kill ? w.DisposeAsync().AsTask() : w.StopAsync(ShutdownGrace))).ConfigureAwait(false);
    }

    /// <summary>Kills every worker still there and waits for them (see <see cref="CloseAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync(kill: true).ConfigureAwait(false);
        _free.Dispose();
    }
}
