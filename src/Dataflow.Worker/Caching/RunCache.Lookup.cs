using System.Collections.Concurrent;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>Looking tasks up in the cache before a run executes, and adding its tasks to the cache after.</summary>
internal sealed partial class RunCache
{
    /// <summary>
    /// Looks up every task with a key that has not committed: a task whose entry is readable, names the task's
    /// outputs, and whose objects are all there as the entry recorded them (size and entity tag; a job input as the
    /// plan listed it) is a hit, and becomes a commit whose outputs are the entry's (<see cref="CommitMarker.CachedFrom"/>).
    /// Bytes are verified when read, as any committed output's.
    /// </summary>
    public async Task<Dictionary<TaskId, CommitMarker>> LookupAsync(IReadOnlyDictionary<TaskId, CommitMarker> committed, CancellationToken cancellationToken)
    {
        var candidates = _plan.TaskIds().Where(id => Keys[id] is not null && !committed.ContainsKey(id)).ToList();
        var heads = new ConcurrentDictionary<string, Lazy<Task<ObjectInfo?>>>(StringComparer.Ordinal);
        var hits = new ConcurrentDictionary<TaskId, CommitMarker>();
        var now = _time.GetUtcNow();
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = Parallelism(_store), CancellationToken = cancellationToken }, async (id, token) =>
        {
            Interlocked.Increment(ref _lookups);
            var key = Keys[id]!;
            var entryKey = CacheLayout.EntryKey(key);
            CacheEntry entry;
            try
            {
                if (await TryReadAllBytesAsync(_store, entryKey, token).ConfigureAwait(false) is not { } bytes)
                {
                    return;
                }

                entry = RunRecords.DeserializeCacheEntry(bytes, entryKey);
            }
            catch (Exception ex) when (ex is ObjectStoreException or InvalidDataException)
            {
                Invalid(id, key, ex.Message);
                return;
            }

            if (await CheckAsync(id, key, entry, heads, token).ConfigureAwait(false) is { } why)
            {
                Invalid(id, key, why);
                return;
            }

            hits[id] = new CommitMarker
            {
                Task = id,
                AttemptId = HitAttemptId(),
                Attempt = 0,
                CommittedAt = now,
                DurationMs = 0,
                Outputs = [.. entry.Outputs.Select(o => o with { Staged = null })],
                BytesRead = 0,
                BytesWritten = 0,
                Consumed = [],
                CachedFrom = key,
            };
            Interlocked.Increment(ref _hits);
        }).ConfigureAwait(false);
        return new Dictionary<TaskId, CommitMarker>(hits);
    }

    /// <summary>Why <paramref name="entry"/> cannot stand for task <paramref name="id"/>, or <see langword="null"/> when it can.</summary>
    private async Task<string?> CheckAsync(TaskId id, string key, CacheEntry entry, ConcurrentDictionary<string, Lazy<Task<ObjectInfo?>>> heads, CancellationToken cancellationToken)
    {
        if (!string.Equals(entry.Key, key, StringComparison.Ordinal))
        {
            return $"it is the entry of key {entry.Key}";
        }

        var outputs = _plan.GetTask(id).Outputs;
        if (entry.Outputs.Count != outputs.Count || !entry.Outputs.Select(o => o.Name).Order(StringComparer.Ordinal).SequenceEqual(outputs.Order(StringComparer.Ordinal), StringComparer.Ordinal))
        {
            return $"it has outputs {string.Join(", ", entry.Outputs.Select(o => o.Name))}, the task writes {string.Join(", ", outputs)}";
        }

        foreach (var segment in entry.Objects())
        {
            if (_inputs.TryGetValue(segment.Key, out var input))
            {
                if (segment.ETag is not null && input.ETag is not null && !string.Equals(segment.ETag, input.ETag, StringComparison.Ordinal))
                {
                    return $"it points into input '{segment.Key}', which changed since (entity tag {input.ETag}, was {segment.ETag})";
                }

                if (segment.Offset + segment.Length > input.Size)
                {
                    return $"it points into input '{segment.Key}' up to byte {segment.Offset + segment.Length}, which is {input.Size} bytes now";
                }

                continue;
            }

            ObjectInfo? info;
            try
            {
                info = await heads.GetOrAdd(segment.Key, k => new Lazy<Task<ObjectInfo?>>(() => _store.HeadAsync(k, CancellationToken.None).AsTask())).Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectStoreException ex)
            {
                return $"its object '{segment.Key}' cannot be checked ({ex.Message})";
            }

            if (info is null)
            {
                return $"its object '{segment.Key}' is missing";
            }

            if (segment.ETag is not null && info.ETag is not null && !string.Equals(segment.ETag, info.ETag, StringComparison.Ordinal))
            {
                return $"its object '{segment.Key}' changed since it was cached (entity tag {info.ETag}, was {segment.ETag})";
            }

            if (segment.Offset + segment.Length > info.Size || (segment.Offset == 0 && entry.Outputs.Any(o => o.Key == segment.Key && o.Size != info.Size)))
            {
                return $"its object '{segment.Key}' is {info.Size} bytes, not the {segment.Offset + segment.Length} it was cached with";
            }
        }

        return null;
    }

    /// <summary>Stores the hits as commits of the run (batch records, which workers read too), before any task runs.</summary>
    public async Task StoreHitsAsync(IReadOnlyDictionary<TaskId, CommitMarker> hits, CancellationToken cancellationToken)
    {
        var ordered = hits.Values.OrderBy(m => m.Task).ToList();
        var id = $"cache-{Random.Shared.Next():x8}";
        for (int i = 0, n = 0; i < ordered.Count; i += HitsPerRecord, n++)
        {
            var record = new CommitRecord { RunId = _plan.RunId, Markers = ordered.GetRange(i, Math.Min(HitsPerRecord, ordered.Count - i)) };
            await _store.PutAsync(_layout.BatchCommitKey($"{id}-{n:D4}"), RunRecords.Serialize(record), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Adds the tasks this run committed (not those it took from the cache) to the cache, when it is on: their
    /// outputs as committed, a final output where it was published (so only after a run that succeeded). Best effort:
    /// an entry that cannot be stored is a task that runs next time.
    /// </summary>
    public async Task WriteEntriesAsync(RunSession session, bool succeeded)
    {
        if (Mode != CacheMode.On)
        {
            return;
        }

        var finals = _plan.Outputs.ToDictionary(o => (o.Task, o.Output), o => o.Key);
        var now = _time.GetUtcNow();
        var tasks = _plan.TaskIds().Where(id => Keys[id] is not null && session.CommittedMarker(id) is { CachedFrom: null }).ToList();
        await Parallel.ForEachAsync(tasks, new ParallelOptions { MaxDegreeOfParallelism = Parallelism(_store) }, async (id, token) =>
        {
            var marker = session.CommittedMarker(id);
            if (marker is null)
            {
                return;
            }

            try
            {
                var outputs = new List<CommittedOutput>(marker.Outputs.Count);
                foreach (var output in marker.Outputs)
                {
                    if (finals.TryGetValue((id, output.Name), out var finalKey))
                    {
                        // Kept where it was published; a run that did not publish it has nothing to keep.
                        if (!succeeded || await _store.HeadAsync(finalKey, token).ConfigureAwait(false) is not { } published || published.Size != output.Size)
                        {
                            return;
                        }

                        outputs.Add(new CommittedOutput { Name = output.Name, Size = output.Size, Key = finalKey, Checksum = output.Checksum, ETag = published.ETag });
                    }
                    else if (output.Staged is not null || output.AsSegments().Any(s => s.Key.StartsWith(_layout.Root, StringComparison.Ordinal)))
                    {
                        // Bytes the run's records own are collected with them: not the cache's to keep.
                        return;
                    }
                    else
                    {
                        outputs.Add(output);
                    }
                }

                var task = _plan.GetTask(id);
                var entry = new CacheEntry
                {
                    Key = Keys[id]!,
                    Job = _plan.Job,
                    Operator = task.Operator,
                    Version = _job.Operators.GetValueOrDefault(task.Operator)?.Version ?? "",
                    RunId = _plan.RunId,
                    Task = id,
                    CreatedAt = now,
                    DurationMs = marker.DurationMs,
                    Outputs = outputs,
                };
                await _store.PutAsync(CacheLayout.EntryKey(entry.Key), RunRecords.Serialize(entry), token).ConfigureAwait(false);
                Interlocked.Increment(ref _written);
            }
            catch (ObjectStoreException ex)
            {
                if (_reasons.Count < MaxReasons)
                {
                    _reasons.Enqueue($"task {id}: its cache entry could not be stored ({ex.Message})");
                }
            }
        }).ConfigureAwait(false);
    }
}
