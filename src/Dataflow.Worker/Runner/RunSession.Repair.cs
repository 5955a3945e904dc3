using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// Setting commits aside: when a committed output is found missing or failing verification, the commit of the task
/// that made its bytes — and of every committed reference that points into them — is set aside (recorded in the
/// store, so that no reader, resume included, takes it again) and those tasks run again.
/// </summary>
internal sealed partial class RunSession
{
    private readonly Dictionary<string, Task> _repairs = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, TaskCompletionSource> _recommits = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Lazy<Task>> _bringingBack = new();

    /// <summary>Commits set aside in this session.</summary>
    public int TasksSetAside => Volatile.Read(ref _setAside);

    private int _setAside;

    /// <summary>
    /// Makes the object of <paramref name="lost"/> good again: sets aside the commits that hold its bytes (its
    /// producer's and every committed reference's) and runs those tasks again, in stage order, with
    /// <paramref name="runTask"/>. Concurrent calls for the same object share one repair.
    /// </summary>
    /// <returns>False when the object is neither an intermediate nor a final output of this run (a job input that changed): nothing can make it again.</returns>
    public async Task<bool> RepairAsync(InputLostException lost, Func<TaskId, CancellationToken, ValueTask> runTask, CancellationToken cancellationToken)
    {
        // An intermediate of this run, or a final output staged at its key: either can be made again.
        // Or an object a task taken from the cache holds (never a job input: that changed under the run).
        if (Layout.TaskOfOutput(lost.ObjectKey) is null && !_plan.Outputs.Any(o => string.Equals(o.Key, lost.ObjectKey, StringComparison.Ordinal))
            && !(lost.ObjectKey.StartsWith(CacheLayout.DataPrefix, StringComparison.Ordinal) && CommittedTasksHolding(lost.ObjectKey).Count > 0))
        {
            return false;
        }

        Task repair;
        lock (_repairs)
        {
            if (!_repairs.TryGetValue(lost.ObjectKey, out repair!))
            {
                repair = RepairObjectAsync(lost, runTask, cancellationToken);
                _repairs[lost.ObjectKey] = repair;
            }
        }

        await repair.ConfigureAwait(false);
        return true;
    }

    private async Task RepairObjectAsync(InputLostException lost, Func<TaskId, CancellationToken, ValueTask> runTask, CancellationToken cancellationToken)
    {
        // Yield first: the lock above must not be held while the repair runs on this thread.
        await Task.Yield();
        var holders = CommittedTasksHolding(lost.ObjectKey);
        try
        {
            foreach (var id in holders)
            {
                await SetAsideAsync(id, lost.Message, cancellationToken).ConfigureAwait(false);
            }

            foreach (var id in holders)
            {
                await BringBackInputsAsync(id, runTask, cancellationToken).ConfigureAwait(false);
                await runTask(id, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Tasks waiting for these to commit again must not wait for ever.
            foreach (var id in holders)
            {
                if (_recommits.TryRemove(Graph.IndexOf(id), out var waiting))
                {
                    waiting.TrySetException(ex);
                }
            }

            throw;
        }
    }

    /// <summary>
    /// Before <paramref name="id"/> runs again: the tasks it reads that were passed over (only tasks taken from the
    /// cache read them, see <see cref="PassOverAsync"/>) are taken from the cache now, or — when their entry is no good
    /// either — run, after what they read in turn. Concurrent repairs bring each task back once.
    /// </summary>
    private async Task BringBackInputsAsync(TaskId id, Func<TaskId, CancellationToken, ValueTask> runTask, CancellationToken cancellationToken)
    {
        foreach (var producer in _plan.GetTask(id).DependsOn)
        {
            var index = Graph.IndexOf(producer);
            if (Volatile.Read(ref _passedOver[index]) == 1)
            {
                await _bringingBack.GetOrAdd(index, _ => new Lazy<Task>(() => BringBackAsync(producer, runTask, cancellationToken))).Value.ConfigureAwait(false);
            }
        }
    }

    private async Task BringBackAsync(TaskId id, Func<TaskId, CancellationToken, ValueTask> runTask, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var index = Graph.IndexOf(id);
        if (Cache is { } cache && cache.Keys[id] is not null && await cache.LookupOneAsync(id, null, cancellationToken).ConfigureAwait(false) is { } hit)
        {
            await cache.StoreHitsAsync(new Dictionary<TaskId, CommitMarker> { [id] = hit }, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _passedOver[index], 0);
            Interlocked.Decrement(ref TasksNotNeeded[id.Stage]);
            Interlocked.Increment(ref TasksCached[id.Stage]);
            await CommittedAsync(id, hit, replayed: true, cancellationToken).ConfigureAwait(false);
            return;
        }

        await BringBackInputsAsync(id, runTask, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _passedOver[index], 0);
        Interlocked.Decrement(ref TasksNotNeeded[id.Stage]);
        Volatile.Write(ref Done[index], false);

        // It reads again what passing it over let go of: its commit lets go of it once more.
        if (Interlocked.Exchange(ref _consumedReleased[index], 0) == 1)
        {
            foreach (var artifact in _consumes[index])
            {
                Interlocked.Increment(ref _consumersLeft[_artifacts[artifact]]);
            }
        }

        await runTask(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until every task <paramref name="id"/> reads has committed again, where a repair set one aside after the
    /// scheduler started <paramref name="id"/> (its inputs were committed then).
    /// </summary>
    public async ValueTask WhenInputsCommittedAsync(TaskId id, CancellationToken cancellationToken)
    {
        foreach (var producer in _plan.GetTask(id).DependsOn)
        {
            if (_recommits.TryGetValue(Graph.IndexOf(producer), out var recommitted))
            {
                await recommitted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Lets tasks that waited for <paramref name="index"/> to commit again go on.</summary>
    private void Recommitted(int index)
    {
        if (_recommits.TryRemove(index, out var waiting))
        {
            waiting.TrySetResult();
        }
    }

    /// <summary>The committed tasks whose outputs are made of bytes of <paramref name="key"/>, in stage order.</summary>
    private List<TaskId> CommittedTasksHolding(string key)
    {
        var holders = new List<TaskId>();
        for (var i = 0; i < _markers.Length; i++)
        {
            if (Volatile.Read(ref _markers[i]) is { } marker
                && marker.Outputs.Any(o => o.AsSegments().Any(s => string.Equals(s.Key, key, StringComparison.Ordinal))))
            {
                holders.Add(marker.Task);
            }
        }

        holders.Sort();
        return holders;
    }

    /// <summary>
    /// Sets aside the commit of <paramref name="id"/>: a record in the store tells every reader to ignore it, what it
    /// consumed is taken back, and it counts as not done. Its outputs stay held until it commits again (see
    /// <see cref="CommittedAsync"/>): a reference holds other tasks' objects, which the new commit may point into again.
    /// </summary>
    private async ValueTask SetAsideAsync(TaskId id, string reason, CancellationToken cancellationToken)
    {
        var index = Graph.IndexOf(id);
        if (Interlocked.Exchange(ref _markers[index], null) is not { } marker)
        {
            return;
        }

        if (marker.CachedFrom is not null && Cache is { } cache)
        {
            // The entry is no good: it goes, and the task runs (and is cached again).
            await cache.InvalidateAsync(marker, reason).ConfigureAwait(false);
            Interlocked.Decrement(ref TasksCached[id.Stage]);
        }

        _recommits.TryAdd(index, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Volatile.Write(ref Done[index], false);
        Volatile.Write(ref _wasSetAside[index], true);
        var record = new CommitRecord
        {
            RunId = _plan.RunId,
            Markers = [],
            SetAside = [new SetAsideCommit(id, marker.AttemptId, reason, Telemetry.Recorder.StartedAt.AddMilliseconds(Telemetry.Recorder.Now))],
        };
        await _store.PutAsync(Layout.SetAsideKey(id, marker.AttemptId), RunRecords.Serialize(record), cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _setAside);
        _progress.TaskSetAside(id.Stage);
        Telemetry.Recorder.TaskSetAside(id.Stage);
        if (Interlocked.Exchange(ref _consumedReleased[index], 0) == 1)
        {
            foreach (var artifact in _consumes[index])
            {
                Interlocked.Increment(ref _consumersLeft[_artifacts[artifact]]);
            }
        }
    }
}
