using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

// The reads of RefreshAsync: each kind of record, and only what is new of it.
public sealed partial class RunWatcher
{
    private async Task<bool> ReadSummaryAsync(CancellationToken cancellationToken)
    {
        try
        {
            var summary = RunRecords.DeserializeSummary(await _store.ReadAllBytesAsync(_layout.SummaryKey, cancellationToken).ConfigureAwait(false));
            lock (_gate)
            {
                _summary = summary;
            }

            return true;
        }
        catch (ObjectNotFoundException)
        {
            return false;
        }
        catch (InvalidDataException ex)
        {
            return SetDamage($"its summary cannot be read: {ex.Message}");
        }
    }

    private async Task<ProgressRecord?> ReadProgressAsync(CancellationToken cancellationToken)
    {
        try
        {
            return ProgressRecord.Parse(await _store.ReadAllBytesAsync(_layout.ProgressKey, cancellationToken).ConfigureAwait(false));
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    private async Task<bool> ReadReportAsync(CancellationToken cancellationToken)
    {
        try
        {
            var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(_layout.ReportKey, cancellationToken).ConfigureAwait(false));
            lock (_gate)
            {
                _report = report;
            }

            return true;
        }
        catch (ObjectNotFoundException)
        {
            return false;
        }
        catch (InvalidDataException)
        {
            // The report adds failed attempts' errors; without it the run is shown from its commits and summary.
            return false;
        }
    }

    /// <summary>
    /// Lists the run's commit records and folds in those not read before: shard records first (a pod's shard record
    /// copies its tasks' own records, which are then not read, as <see cref="CommitIndex"/> does), a slice at a time
    /// until <paramref name="budget"/> has passed; the rest wait for the next refresh (<see cref="RunView.RecordsPending"/>).
    /// </summary>
    private async Task<bool> ReadNewCommitsAsync(TimeSpan budget, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var shards = new List<string>();
        var others = new List<string>();
        await foreach (var info in _store.ListAsync(_layout.CommitsPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (info.Key.EndsWith(".json", StringComparison.Ordinal) && !_recordsRead.Contains(info.Key))
            {
                (_layout.IsShardCommitKey(info.Key) ? shards : others).Add(info.Key);
            }
        }

        var changed = false;
        var pending = new Queue<string>(shards.Concat(others));
        while (pending.Count > 0 && (changed is false || _time.GetElapsedTime(started) < budget))
        {
            var slice = new List<string>();
            while (pending.Count > 0 && slice.Count < RecordsPerSlice)
            {
                var key = pending.Dequeue();
                if (_layout.IsShardCommitKey(key) || _layout.TaskCommitOf(key) is not { } commit || !_copied.Contains(commit))
                {
                    slice.Add(key);
                }
                else
                {
                    lock (_gate)
                    {
                        _recordsRead.Add(key);
                    }
                }
            }

            var records = await ReadRecordsAsync(slice, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                foreach (var record in records.Where(r => r.Shard is not null))
                {
                    _copied.UnionWith(record.Markers.Select(m => (m.Task, m.AttemptId)));
                }

                Fold(records);
                _recordsRead.UnionWith(slice);
                _recordsPending = pending.Count;
            }

            changed = true;
        }

        lock (_gate)
        {
            _recordsPending = pending.Count;
        }

        return changed;
    }

    /// <summary>
    /// Reads the failure records written since the last refresh (a driver writes one as each attempt fails, at most
    /// <see cref="FailureRecorder.MaxRecords"/>): at most <see cref="MaxFailureRecords"/> are kept, the rest counted by the report.
    /// </summary>
    private async Task<bool> ReadNewFailuresAsync(CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var info in _store.ListAsync(_layout.FailuresPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (!_failureKeysRead.Contains(info.Key) && _failureKeysRead.Count + keys.Count < MaxFailureRecords)
            {
                keys.Add(info.Key);
            }
        }

        if (keys.Count == 0)
        {
            return false;
        }

        var records = new FailureRecord?[keys.Count];
        await Parallel.ForAsync(
            0,
            keys.Count,
            new ParallelOptions { MaxDegreeOfParallelism = CommitIndex.ParallelReads, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                try
                {
                    records[i] = RunRecords.DeserializeFailure(await _store.ReadAllBytesAsync(keys[i], token).ConfigureAwait(false), keys[i]);
                }
                catch (ObjectNotFoundException)
                {
                }
                catch (InvalidDataException ex)
                {
                    SetDamage($"a failure record cannot be read: {ex.Message}");
                }
            }).ConfigureAwait(false);
        lock (_gate)
        {
            _failureKeysRead.UnionWith(keys);
            _failureRecords.AddRange(records.OfType<FailureRecord>());
        }

        return true;
    }

    /// <summary>Reads the records at <paramref name="keys"/>; one that cannot be read is left out and named as damage (and not read again).</summary>
    private async Task<WatchedRecord[]> ReadRecordsAsync(List<string> keys, CancellationToken cancellationToken)
    {
        var records = new WatchedRecord?[keys.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, keys.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Math.Min(CommitIndex.ParallelReads, (_store.MaxConcurrentReads ?? int.MaxValue) / 2)), CancellationToken = cancellationToken },
            async (i, token) =>
            {
                try
                {
                    var record = WatchedRecords.Read(await _store.ReadAllBytesAsync(keys[i], token).ConfigureAwait(false), keys[i]);
                    records[i] = string.Equals(record.RunId, RunId, StringComparison.Ordinal)
                        ? record
                        : throw new InvalidDataException($"commit record '{keys[i]}' belongs to run '{record.RunId}', not '{RunId}'");
                }
                catch (ObjectNotFoundException)
                {
                    // Listed, then deleted: nothing to fold.
                }
                catch (InvalidDataException ex)
                {
                    SetDamage($"a commit record cannot be read: {ex.Message}");
                }
            }).ConfigureAwait(false);
        return [.. records.OfType<WatchedRecord>()];
    }

    private async Task<IReadOnlyList<string>> InputsAsync(PlanIndex plan, TaskId task, CancellationToken cancellationToken)
    {
        try
        {
            return [.. (await PlanTaskAsync(plan, task, cancellationToken).ConfigureAwait(false)).Inputs.Select(Describe)];
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentOutOfRangeException or Dataflow.Storage.ObjectStoreException)
        {
            return [$"(its inputs cannot be read from the plan: {ex.Message})"];
        }
    }

    /// <summary>
    /// The plan's task: its chunk is read once and kept (plans never change), so the failures a page shows on every poll
    /// cost no reads after the first; at most <see cref="MaxPlanTasks"/> tasks are kept.
    /// </summary>
    private async Task<PlanTask> PlanTaskAsync(PlanIndex plan, TaskId task, CancellationToken cancellationToken)
    {
        lock (_planTasks)
        {
            if (_planTasks.TryGetValue(task, out var known))
            {
                return known;
            }
        }

        var loaded = (await PlanStore.LoadTasksAsync(_store, plan, task.Stage, task.Index, task.Index, cancellationToken).ConfigureAwait(false)).GetTask(task);
        lock (_planTasks)
        {
            if (_planTasks.Count >= MaxPlanTasks)
            {
                _planTasks.Clear();
            }

            _planTasks[task] = loaded;
        }

        return loaded;
    }
}
