using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// Finds committed attempts in a run's commit records: every record (to resume a run) or one task's (for a worker
/// that needs its inputs). Where several attempts of a task committed, the winner is the marker whose attempt id is
/// ordinally smallest, the same for every reader. Commits that a record sets aside (their outputs were lost or failed
/// verification, and the task ran again) are not candidates.
/// </summary>
internal static class CommitIndex
{
    internal const int ParallelReads = 8;

    /// <summary>The winning marker of every committed task of the run.</summary>
    public static async Task<Dictionary<TaskId, CommitMarker>> LoadAllAsync(IObjectStore store, RunLayout layout, CancellationToken cancellationToken) =>
        Winners(await LoadRecordsAsync(store, layout, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Every commit record of the run that holds something the others do not: its shard records, and of the other
    /// records all but a task's own records whose commit a shard record copies (known from their keys, which name the
    /// task and attempt: they are not read). A run of pods is thus read in about one object per pod, not per task.
    /// </summary>
    /// <exception cref="InvalidDataException">A record is damaged or belongs to another run.</exception>
    public static async Task<CommitRecord[]> LoadRecordsAsync(IObjectStore store, RunLayout layout, CancellationToken cancellationToken)
    {
        var shards = new List<string>();
        var others = new List<string>();
        await foreach (var info in store.ListAsync(layout.CommitsPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (info.Key.EndsWith(".json", StringComparison.Ordinal))
            {
                (layout.IsShardCommitKey(info.Key) ? shards : others).Add(info.Key);
            }
        }

        var shardRecords = await ReadAsync(store, layout, shards, cancellationToken).ConfigureAwait(false);
        var copied = shardRecords.SelectMany(r => r.Markers).Select(m => (m.Task, m.AttemptId)).ToHashSet();
        others.RemoveAll(key => layout.TaskCommitOf(key) is { } commit && copied.Contains(commit));
        return [.. shardRecords, .. await ReadAsync(store, layout, others, cancellationToken).ConfigureAwait(false)];
    }

    /// <summary>
    /// The shard records of tasks <paramref name="first"/> to <paramref name="last"/> of <paramref name="stage"/>
    /// (one listing; usually one record, more when a pod of the shard failed or ran twice). Records that set commits
    /// aside are not read: the driver that reads a shard's records is the one that sets commits aside.
    /// </summary>
    public static async Task<CommitRecord[]> ReadShardAsync(IObjectStore store, RunLayout layout, int stage, int first, int last, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync(layout.ShardCommitPrefix(stage, first, last), cancellationToken).ConfigureAwait(false))
        {
            keys.Add(info.Key);
        }

        return await ReadAsync(store, layout, keys, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The attempts that records made: every distinct committed attempt (a commit copied in several records counts
    /// once) and every attempt a shard record says failed.
    /// </summary>
    internal static int CountAttempts(IEnumerable<CommitRecord> records)
    {
        var all = records as IReadOnlyCollection<CommitRecord> ?? [.. records];
        return all.SelectMany(r => r.Markers).Select(m => (m.Task, m.AttemptId)).Distinct().Count()
            + all.Sum(r => r.Shard?.Failed.Count ?? 0);
    }

    /// <summary>The winning marker of <paramref name="task"/> among the per-task records workers write, or <see langword="null"/>.</summary>
    public static async Task<CommitMarker?> FindAsync(IObjectStore store, RunLayout layout, TaskId task, CancellationToken cancellationToken) =>
        Winners(await ReadTaskAsync(store, layout, task, cancellationToken).ConfigureAwait(false)).GetValueOrDefault(task);

    /// <summary>The per-task records of <paramref name="task"/>: its workers' commits and the records that set commits of it aside.</summary>
    internal static async Task<CommitRecord[]> ReadTaskAsync(IObjectStore store, RunLayout layout, TaskId task, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync(layout.TaskCommitPrefix(task), cancellationToken).ConfigureAwait(false))
        {
            keys.Add(info.Key);
        }

        return await ReadAsync(store, layout, keys, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the records at <paramref name="keys"/>, checking that each belongs to the run.</summary>
    /// <exception cref="InvalidDataException">A record is damaged or belongs to another run.</exception>
    internal static async Task<CommitRecord[]> ReadAsync(IObjectStore store, RunLayout layout, List<string> keys, CancellationToken cancellationToken)
    {
        var records = new CommitRecord[keys.Count];
        if (keys.Count <= 1)
        {
            // A task's own records are usually none or one (what every worker and the process executor read per task):
            // read here rather than through a parallel loop, which schedules its workers even for no work.
            for (var i = 0; i < keys.Count; i++)
            {
                records[i] = RunRecords.DeserializeCommitRecord(await store.ReadAllBytesAsync(keys[i], cancellationToken).ConfigureAwait(false), keys[i]);
            }
        }
        else
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, keys.Count),
                new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken },
                async (i, token) => records[i] = RunRecords.DeserializeCommitRecord(await store.ReadAllBytesAsync(keys[i], token).ConfigureAwait(false), keys[i])).ConfigureAwait(false);
        }

        for (var i = 0; i < records.Length; i++)
        {
            if (!string.Equals(records[i].RunId, layout.RunId, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"commit record '{keys[i]}' belongs to run '{records[i].RunId}', not '{layout.RunId}'");
            }
        }

        return records;
    }

    /// <summary>The winning marker of each task in <paramref name="records"/>, leaving out commits any of them set aside.</summary>
    internal static Dictionary<TaskId, CommitMarker> Winners(IEnumerable<CommitRecord> records)
    {
        var all = records as IReadOnlyCollection<CommitRecord> ?? [.. records];
        var setAside = all.SelectMany(r => r.SetAside ?? []).Select(a => (a.Task, a.AttemptId)).ToHashSet();
        var winners = new Dictionary<TaskId, CommitMarker>();
        foreach (var marker in all.SelectMany(r => r.Markers))
        {
            if (!setAside.Contains((marker.Task, marker.AttemptId)) && (!winners.TryGetValue(marker.Task, out var current) || marker.Wins(current)))
            {
                winners[marker.Task] = marker;
            }
        }

        return winners;
    }
}

/// <summary>
/// A worker's view of a run's commits: the winning marker of a task among its per-task records and the driver's
/// batch records (read once, when the first lookup needs them), cached once found. Commits set aside are not winners.
/// </summary>
/// <param name="store">The run's store.</param>
/// <param name="layout">The run's keys.</param>
/// <param name="batches">
/// The batch records as another lookup of the same run read them (<see cref="Batches"/>): a pooled worker makes a lookup
/// per task, since a winner it found may be set aside before its next task. A batch record never changes once stored
/// (a set-aside record is a task's own record), but the driver may store new ones meanwhile — a producer it made again
/// after its output was lost — so a task these batches do not find is looked for again in a fresh listing.
/// </param>
internal sealed class CommitLookup(IObjectStore store, RunLayout layout, Task<CommitRecord[]>? batches = null)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TaskId, CommitMarker> _found = new();
    private Task<CommitRecord[]>? _batches = batches;
    private bool _batchesMayBeOld = batches is not null;

    /// <summary>The driver's batch records, read when first asked for.</summary>
    public Task<CommitRecord[]> Batches => LazyInitializer.EnsureInitialized(ref _batches, () => LoadBatchesAsync(CancellationToken.None));

    /// <summary>The winning marker of <paramref name="task"/>, or <see langword="null"/> when it has not committed.</summary>
    public async ValueTask<CommitMarker?> FindAsync(TaskId task, CancellationToken cancellationToken)
    {
        if (_found.TryGetValue(task, out var known))
        {
            return known;
        }

        var own = await CommitIndex.ReadTaskAsync(store, layout, task, cancellationToken).ConfigureAwait(false);
        var winner = await WinnerAsync(task, own, cancellationToken).ConfigureAwait(false);
        if (winner is null && _batchesMayBeOld)
        {
            _batchesMayBeOld = false;
            _batches = LoadBatchesAsync(CancellationToken.None);
            winner = await WinnerAsync(task, own, cancellationToken).ConfigureAwait(false);
        }

        return winner is null ? null : _found.GetOrAdd(task, winner);
    }

    private async Task<CommitMarker?> WinnerAsync(TaskId task, IEnumerable<CommitRecord> own, CancellationToken cancellationToken)
    {
        var batch = (await Batches.WaitAsync(cancellationToken).ConfigureAwait(false))
            .Select(r => r with { Markers = [.. r.Markers.Where(m => m.Task == task)] });
        return CommitIndex.Winners(own.Concat(batch)).GetValueOrDefault(task);
    }

    /// <summary>The winning marker of a producing task, which must have committed.</summary>
    /// <exception cref="InvalidOperationException">The task has not committed.</exception>
    /// <exception cref="InputLostException">
    /// The task had committed, but its commit was set aside (the driver is making its output again) after this task
    /// started: its output counts as lost, so the driver waits for that repair and runs this task again.
    /// </exception>
    public async ValueTask<CommitMarker> GetAsync(TaskId task, CancellationToken cancellationToken)
    {
        if (await FindAsync(task, cancellationToken).ConfigureAwait(false) is { } winner)
        {
            return winner;
        }

        var own = await CommitIndex.ReadTaskAsync(store, layout, task, cancellationToken).ConfigureAwait(false);
        // The object the set-aside commit's first output was made of: an output may be a whole object (its key) or
        // segments of objects (a map task's partitions, a reference).
        if (own.SelectMany(r => r.Markers).Where(m => m.Task == task).SelectMany(m => m.Outputs).SelectMany(o => o.AsSegments()).Select(s => s.Key).FirstOrDefault() is { } key)
        {
            throw new InputLostException(key, $"task {task} of run '{layout.RunId}' was set aside, its output being made again, while a task that reads it ran");
        }

        throw new InvalidOperationException($"task {task} of run '{layout.RunId}' has not committed, but a task that reads its output was started");
    }

    private async Task<CommitRecord[]> LoadBatchesAsync(CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync(layout.CommitsPrefix + "batch-", cancellationToken).ConfigureAwait(false))
        {
            keys.Add(info.Key);
        }

        return keys.Count == 0 ? [] : await CommitIndex.ReadAsync(store, layout, keys, cancellationToken).ConfigureAwait(false);
    }
}
