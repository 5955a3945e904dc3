using System.Collections.Concurrent;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The task cache of a store as a whole (<c>_dataflow/cache/</c>): how big it is, and trimming it (<c>gc --cache</c>).
/// Runs use it through <see cref="JobRunnerOptions.Cache"/>.
/// </summary>
public static class TaskCache
{
    /// <summary>
    /// Trims the cache: deletes entries older than <see cref="CacheTrimOptions.MaxAge"/>, then the oldest entries
    /// until what the rest hold fits in <see cref="CacheTrimOptions.MaxBytes"/>, then every cached object no entry
    /// refers to any more (outputs of entries gone, and what runs left that never became an entry). An entry that a
    /// running run took a task from, and the data of a running run, are never deleted. Unreadable entries are deleted.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="options">The bounds; none given deletes only unreadable entries and unreferenced objects.</param>
    /// <param name="time">The clock ages are judged by; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="cancellationToken">Stops the trim (what was deleted stays deleted).</param>
    public static async Task<CacheTrimResult> TrimAsync(IObjectStore store, CacheTrimOptions options, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        time ??= TimeProvider.System;
        var now = time.GetUtcNow();
        // One listing of the cache: its usage before the trim, its entries and its objects.
        var listed = await store.ListAllAsync(CacheLayout.Prefix, cancellationToken).ConfigureAwait(false);
        var before = Usage(listed);

        // What running runs hold: the entries their tasks were taken from, and all of their own data.
        var runningRuns = new HashSet<string>(StringComparer.Ordinal);
        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var run in await RunCatalog.ListAsync(store, time, cancellationToken).ConfigureAwait(false))
        {
            if (run.State != RunCatalog.Running)
            {
                continue;
            }

            runningRuns.Add(run.RunId);
            foreach (var marker in (await CommitIndex.LoadAllAsync(store, new RunLayout(run.RunId), cancellationToken).ConfigureAwait(false)).Values)
            {
                if (marker.CachedFrom is { } key)
                {
                    held.Add(key);
                }
            }
        }

        // Every entry, and the cached objects it refers to.
        var entryKeys = listed.Where(i => i.Key.StartsWith(CacheLayout.EntriesPrefix, StringComparison.Ordinal)).Select(i => i.Key).ToList();
        var entries = new ConcurrentDictionary<string, CacheEntry?>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(entryKeys, new ParallelOptions { MaxDegreeOfParallelism = RunCache.Parallelism(store), CancellationToken = cancellationToken }, async (key, token) =>
        {
            try
            {
                entries[key] = RunRecords.DeserializeCacheEntry(await store.ReadAllBytesAsync(key, token).ConfigureAwait(false), key);
            }
            catch (ObjectNotFoundException)
            {
                // Deleted since the listing.
            }
            catch (InvalidDataException)
            {
                entries[key] = null;
            }
        }).ConfigureAwait(false);

        var objects = listed.Where(i => i.Key.StartsWith(CacheLayout.DataPrefix, StringComparison.Ordinal)).ToDictionary(i => i.Key, i => i.Size, StringComparer.Ordinal);
        var references = new Dictionary<string, int>(StringComparer.Ordinal);
        var live = new List<(string ObjectKey, CacheEntry Entry, string[] Objects)>();
        var doomed = new List<string>();
        foreach (var (key, entry) in entries)
        {
            var isHeld = CacheLayout.KeyOfEntry(key) is { } cacheKey && held.Contains(cacheKey);
            if (entry is null || CacheLayout.KeyOfEntry(key) != entry.Key)
            {
                if (!isHeld)
                {
                    doomed.Add(key);
                }

                continue;
            }

            var owned = entry.Objects().Select(s => s.Key).Where(k => k.StartsWith(CacheLayout.DataPrefix, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToArray();
            if (!isHeld && options.MaxAge is { } maxAge && now - entry.CreatedAt > maxAge)
            {
                doomed.Add(key);
                continue;
            }

            live.Add((key, entry, owned));
            foreach (var o in owned)
            {
                references[o] = references.GetValueOrDefault(o) + 1;
            }
        }

        long Held() => references.Keys.Sum(k => objects.GetValueOrDefault(k));
        if (options.MaxBytes is { } maxBytes)
        {
            var total = Held();
            foreach (var (key, entry, owned) in live.OrderBy(l => l.Entry.CreatedAt).ThenBy(l => l.ObjectKey, StringComparer.Ordinal).ToList())
            {
                if (total <= maxBytes)
                {
                    break;
                }

                // An entry that owns no cached object (a final output's, kept where it was published) frees no bytes:
                // deleting it would not help the rest fit, and whether it went would hang on how keys sort.
                if (held.Contains(entry.Key) || owned.Length == 0)
                {
                    continue;
                }

                doomed.Add(key);
                live.RemoveAll(l => l.ObjectKey == key);
                foreach (var o in owned)
                {
                    if (--references[o] == 0)
                    {
                        references.Remove(o);
                        total -= objects.GetValueOrDefault(o);
                    }
                }
            }
        }

        // Entries first, so that no run takes a task from an entry whose objects are going; then the objects no entry
        // refers to, except a running run's (its tasks' outputs become entries when it ends).
        var entriesDeleted = await DeleteAsync(store, doomed, cancellationToken).ConfigureAwait(false);
        var orphans = objects.Keys.Where(k => !references.ContainsKey(k) && !(CacheLayout.RunOfData(k) is { } run && runningRuns.Contains(run))).ToList();
        var objectsDeleted = await DeleteAsync(store, orphans, cancellationToken).ConfigureAwait(false);
        var after = await GetUsageAsync(store, cancellationToken).ConfigureAwait(false);
        return new CacheTrimResult(before, after, entriesDeleted, objectsDeleted, held.Count);
    }

    /// <summary>How many entries and objects the cache holds, and their bytes.</summary>
    public static async Task<CacheUsage> GetUsageAsync(IObjectStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return Usage(await store.ListAllAsync(CacheLayout.Prefix, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The usage of the cache whose objects are <paramref name="listed"/>.</summary>
    private static CacheUsage Usage(List<ObjectInfo> listed)
    {
        var entries = listed.Count(i => i.Key.StartsWith(CacheLayout.EntriesPrefix, StringComparison.Ordinal));
        return new CacheUsage(entries, listed.Count - entries, listed.Sum(i => i.Size));
    }

    private static async Task<int> DeleteAsync(IObjectStore store, List<string> keys, CancellationToken cancellationToken)
    {
        var deleted = 0;
        for (var i = 0; i < keys.Count; i += ArtifactCollector.BatchSize)
        {
            deleted += await store.DeleteAsync(keys.GetRange(i, Math.Min(ArtifactCollector.BatchSize, keys.Count - i)), cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }
}

/// <summary>The bounds of a trim of the task cache (<see cref="TaskCache.TrimAsync"/>).</summary>
public sealed record CacheTrimOptions
{
    /// <summary>The most bytes the cache's objects may hold after the trim; the oldest entries go first. <see langword="null"/>: no bound.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>The oldest an entry may be (since it was made); <see langword="null"/>: no bound.</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>Checks the bounds.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A bound is negative.</exception>
    public void Validate()
    {
        if (MaxBytes is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, "the cache's size bound cannot be negative");
        }

        if (MaxAge is { } age && age < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAge), MaxAge, "the cache's age bound cannot be negative");
        }
    }
}

/// <summary>What the task cache holds: its entries, its objects, and the bytes of both.</summary>
/// <param name="Entries">Entries.</param>
/// <param name="Objects">Cached objects (outputs of runs with the cache on).</param>
/// <param name="Bytes">Bytes of entries and objects together.</param>
public sealed record CacheUsage(int Entries, int Objects, long Bytes);

/// <summary>What a trim of the task cache did.</summary>
/// <param name="Before">The cache before.</param>
/// <param name="After">The cache after.</param>
/// <param name="EntriesDeleted">Entries deleted (too old, over the size bound, or unreadable).</param>
/// <param name="ObjectsDeleted">Objects deleted (no entry refers to them any more, and no running run wrote them).</param>
/// <param name="EntriesHeld">Entries kept because a running run took tasks from them.</param>
public sealed record CacheTrimResult(CacheUsage Before, CacheUsage After, int EntriesDeleted, int ObjectsDeleted, int EntriesHeld);
