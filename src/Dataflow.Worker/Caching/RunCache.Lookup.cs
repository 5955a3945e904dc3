using System.Collections.Concurrent;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>Looking tasks up in the cache before a run executes, and adding its tasks to the cache after.</summary>
internal sealed partial class RunCache
{
    /// <summary>
    /// Looks tasks up from the final outputs down, stage by stage, and only those whose outputs a task that runs (or
    /// publishing) needs: a task whose entry is readable, names the task's outputs, and whose objects are all there as
    /// the entry recorded them (size and entity tag; a job input as the plan listed it) is a hit, and becomes a commit
    /// whose outputs are the entry's (<see cref="CommitMarker.CachedFrom"/>); a task that misses runs, so the tasks it
    /// reads are needed in turn. A task nothing needs — every task reading it a hit — is not looked up at all
    /// (<see cref="CacheLookup.NotNeeded"/>): a warm run of a tree looks up its last task only. Committed tasks (a
    /// resumed run) need nothing. Bytes are verified when read, as any committed output's.
    /// </summary>
    public async Task<CacheLookup> LookupAsync(IReadOnlyDictionary<TaskId, CommitMarker> committed, CancellationToken cancellationToken)
    {
        var heads = new ConcurrentDictionary<string, Lazy<Task<ObjectInfo?>>>(StringComparer.Ordinal);
        var hits = new ConcurrentDictionary<TaskId, CommitMarker>();
        var stages = _plan.Stages;
        var needed = stages.Select(s => new bool[s.Tasks.Count]).ToArray();
        var read = stages.Select(s => new bool[s.Tasks.Count]).ToArray();
        foreach (var id in _plan.TaskIds())
        {
            foreach (var producer in _plan.GetTask(id).DependsOn)
            {
                if (producer.Stage >= id.Stage)
                {
                    // Not a plan of levels (no planner makes one): look every task up, prune nothing.
                    return await LookupEveryTaskAsync(committed, heads, cancellationToken).ConfigureAwait(false);
                }

                read[producer.Stage][producer.Index] = true;
            }
        }

        // Publishing needs the final outputs' tasks; a task nothing reads is needed for its own sake.
        foreach (var output in _plan.Outputs)
        {
            needed[output.Task.Stage][output.Task.Index] = true;
        }

        for (var s = stages.Count - 1; s >= 0; s--)
        {
            var stage = s;
            var candidates = Enumerable.Range(0, stages[s].Tasks.Count)
                .Select(t => new TaskId(stage, t))
                .Where(id => (needed[id.Stage][id.Index] || !read[id.Stage][id.Index]) && !committed.ContainsKey(id))
                .ToList();
            await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = Parallelism(_store), CancellationToken = cancellationToken }, async (id, token) =>
            {
                if (Keys[id] is not null && await LookupOneAsync(id, heads, token).ConfigureAwait(false) is { } hit)
                {
                    hits[id] = hit;
                }
            }).ConfigureAwait(false);
            foreach (var id in candidates.Where(id => !hits.ContainsKey(id)))
            {
                // It runs: what it reads is needed.
                foreach (var producer in _plan.GetTask(id).DependsOn)
                {
                    needed[producer.Stage][producer.Index] = true;
                }
            }
        }

        var notNeeded = _plan.TaskIds()
            .Where(id => !needed[id.Stage][id.Index] && read[id.Stage][id.Index] && !committed.ContainsKey(id) && !hits.ContainsKey(id))
            .ToList();
        return new CacheLookup(new Dictionary<TaskId, CommitMarker>(hits), notNeeded);
    }

    /// <summary>Looks every task with a key up (a plan that is not in levels).</summary>
    private async Task<CacheLookup> LookupEveryTaskAsync(IReadOnlyDictionary<TaskId, CommitMarker> committed, ConcurrentDictionary<string, Lazy<Task<ObjectInfo?>>> heads, CancellationToken cancellationToken)
    {
        var candidates = _plan.TaskIds().Where(id => Keys[id] is not null && !committed.ContainsKey(id)).ToList();
        var hits = new ConcurrentDictionary<TaskId, CommitMarker>();
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = Parallelism(_store), CancellationToken = cancellationToken }, async (id, token) =>
        {
            if (await LookupOneAsync(id, heads, token).ConfigureAwait(false) is { } hit)
            {
                hits[id] = hit;
            }
        }).ConfigureAwait(false);
        return new CacheLookup(new Dictionary<TaskId, CommitMarker>(hits), []);
    }

    /// <summary>
    /// Looks up one task (which has a key): its commit from the cache, or <see langword="null"/> when its entry is
    /// missing or not usable (why is recorded).
    /// </summary>
    public async Task<CommitMarker?> LookupOneAsync(TaskId id, ConcurrentDictionary<string, Lazy<Task<ObjectInfo?>>>? heads, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _lookups);
        var key = Keys[id]!;
        var entryKey = CacheLayout.EntryKey(key);
        CacheEntry entry;
        try
        {
            if (await TryReadAllBytesAsync(_store, entryKey, cancellationToken).ConfigureAwait(false) is not { } bytes)
            {
                return null;
            }

            entry = RunRecords.DeserializeCacheEntry(bytes, entryKey);
        }
        catch (Exception ex) when (ex is ObjectStoreException or InvalidDataException)
        {
            Invalid(id, key, ex.Message);
            return null;
        }

        if (await CheckAsync(id, key, entry, heads ?? new(StringComparer.Ordinal), cancellationToken).ConfigureAwait(false) is { } why)
        {
            Invalid(id, key, why);
            return null;
        }

        Interlocked.Increment(ref _hits);
        return new CommitMarker
        {
            Task = id,
            AttemptId = HitAttemptId(),
            Attempt = 0,
            CommittedAt = _time.GetUtcNow(),
            DurationMs = 0,
            Outputs = [.. entry.Outputs.Select(o => o with { Staged = null })],
            BytesRead = 0,
            BytesWritten = 0,
            Consumed = [],
            CachedFrom = key,
        };
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

    /// <summary>
    /// Keeps <paramref name="notNeeded"/> for the run (<see cref="NotNeeded"/>) and stores it with the run
    /// (<see cref="RunLayout.CacheNotNeededKey"/>), so that <c>status</c> counts those tasks as done by the cache.
    /// </summary>
    public async Task StoreNotNeededAsync(IReadOnlyList<TaskId> notNeeded, CancellationToken cancellationToken)
    {
        NotNeeded = notNeeded;
        await _store.PutAsync(_layout.CacheNotNeededKey, TaskRanges.Serialize(_plan, notNeeded), cancellationToken).ConfigureAwait(false);
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
        // A task that failed and was tolerated, or read such a task's (empty) outputs, has no entry: a later run whose
        // inputs all read well must not take part of a result from the cache.
        var partial = session.ToleratedFailureReaders();
        var tasks = _plan.TaskIds().Where(id => Keys[id] is not null && session.CommittedMarker(id) is { CachedFrom: null } && !partial.Contains(id)).ToList();
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

/// <summary>What looking a run's tasks up in the cache found.</summary>
/// <param name="Hits">The tasks taken from the cache, with their commits.</param>
/// <param name="NotNeeded">
/// The tasks not looked up because only tasks taken from the cache read their outputs: not run, not committed. Should
/// one of those hits have to run after all (its cached output found damaged), these are looked up or run first.
/// </param>
internal sealed record CacheLookup(Dictionary<TaskId, CommitMarker> Hits, IReadOnlyList<TaskId> NotNeeded);
