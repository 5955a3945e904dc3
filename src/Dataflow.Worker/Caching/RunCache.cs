using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Hashing;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The task cache as one run's driver uses it: the run's task keys (<see cref="TaskKeys"/>), the lookups that turn
/// cached tasks into commits before anything runs (<see cref="LookupAsync"/>), the outputs it keeps from collection,
/// and the entries it adds at the end (<see cref="WriteEntriesAsync"/>). A missing, unreadable or stale entry means the
/// task runs; why is kept for the run's summary.
/// </summary>
internal sealed partial class RunCache
{
    /// <summary>Lookups and entry writes in flight at once on a remote store (S3), where each waits for the network.</summary>
    internal const int RemoteParallelism = 32;

    /// <summary>
    /// Lookups and entry writes in flight at once on <paramref name="store"/>: on a folder (a store that creates
    /// atomically) each is a few system calls that do not wait, so more threads than cores only contend.
    /// </summary>
    internal static int Parallelism(IObjectStore store) => store is IAtomicCreateStore ? Math.Max(2, Environment.ProcessorCount) : RemoteParallelism;

    /// <summary>Most reasons kept for the summary.</summary>
    internal const int MaxReasons = 20;

    /// <summary>Most hits in one commit record.</summary>
    internal const int HitsPerRecord = 5000;

    private readonly IObjectStore _store;
    private readonly Plan _plan;
    private readonly Job _job;
    private readonly RunLayout _layout;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, PlanInput> _inputs;
    private readonly ConcurrentDictionary<string, byte> _kept = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _reasons = new();
    private int _invalid;
    private int _hits;
    private int _lookups;
    private int _written;

    private RunCache(IObjectStore store, Plan plan, Job job, TaskKeys keys, TimeProvider time)
    {
        _store = store;
        _plan = plan;
        _job = job;
        _layout = RunLayout.Of(plan);
        _time = time;
        Keys = keys;
        _inputs = new Dictionary<string, PlanInput>(plan.Inputs.Count, StringComparer.Ordinal);
        foreach (var input in plan.Inputs)
        {
            _inputs.TryAdd(input.Key, input);
        }
    }

    /// <summary>How the run uses the cache.</summary>
    public CacheMode Mode => _plan.Cache;

    /// <summary>The run's task keys.</summary>
    public TaskKeys Keys { get; }

    /// <summary>Tasks not looked up and not run: only tasks taken from the cache read them (see <see cref="LookupAsync"/>).</summary>
    public IReadOnlyList<TaskId> NotNeeded { get; private set; } = [];

    /// <summary>Entries looked up (tasks with a key that had not committed).</summary>
    public int Lookups => Volatile.Read(ref _lookups);

    /// <summary>Tasks taken from the cache.</summary>
    public int Hits => Volatile.Read(ref _hits);

    /// <summary>Entries written.</summary>
    public int EntriesWritten => Volatile.Read(ref _written);

    /// <summary>Entries found but not usable (unreadable, an object missing or changed, damaged when read).</summary>
    public int EntriesInvalid => Volatile.Read(ref _invalid);

    /// <summary>Why entries were not used, or tasks not cached (at most <see cref="MaxReasons"/>).</summary>
    public IReadOnlyList<string> Reasons => [.. Keys.Uncacheable, .. _reasons.Take(MaxReasons)];

    /// <summary>
    /// The cache of a run about to execute: computes its task keys and stores them with the run (a new run), or reads
    /// them back (a resumed run, whose keys must be those it started with: an input changed since makes other keys).
    /// </summary>
    public static async Task<RunCache> OpenAsync(IObjectStore store, Plan plan, Job job, bool resume, bool hashContent, TimeProvider time, CancellationToken cancellationToken)
    {
        var layout = RunLayout.Of(plan);
        if (resume && await TryReadAllBytesAsync(store, layout.CacheKeysKey, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            return new RunCache(store, plan, job, TaskKeys.Deserialize(stored, plan, layout.CacheKeysKey), time);
        }

        var fingerprints = await FingerprintAsync(store, plan, hashContent, cancellationToken).ConfigureAwait(false);
        var keys = TaskKeys.Compute(plan, job, fingerprints);
        await store.PutAsync(layout.CacheKeysKey, keys.Serialize(), cancellationToken).ConfigureAwait(false);
        return new RunCache(store, plan, job, keys, time);
    }

    /// <summary>
    /// The fingerprints of the plan's job inputs: the entity tag listed with the plan, and what the store adds to it
    /// (a folder: the file's identity), or with <paramref name="hashContent"/> an XXH3 hash of the bytes instead.
    /// </summary>
    private static async Task<Dictionary<string, string?>> FingerprintAsync(IObjectStore store, Plan plan, bool hashContent, CancellationToken cancellationToken)
    {
        var fingerprints = new ConcurrentDictionary<string, string?>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(plan.Inputs, new ParallelOptions { MaxDegreeOfParallelism = hashContent ? 4 : Parallelism(store), CancellationToken = cancellationToken }, async (input, token) =>
        {
            if (hashContent)
            {
                var hash = new XxHash128();
                var stream = await store.OpenSegmentAsync(ObjectSegment.Whole(input.Key, input.Size) with { ETag = input.ETag }, token).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    await hash.AppendAsync(stream, token).ConfigureAwait(false);
                }

                fingerprints[input.Key] = "xxh128:" + Convert.ToHexStringLower(hash.GetCurrentHash());
                return;
            }

            var identity = await store.GetIdentityAsync(input.Key, token).ConfigureAwait(false);
            fingerprints[input.Key] = input.ETag is null && identity is null ? null : $"{input.ETag}|{identity}";
        }).ConfigureAwait(false);
        return new Dictionary<string, string?>(fingerprints, StringComparer.Ordinal);
    }

    /// <summary>
    /// True when the collector may delete <paramref name="key"/>: anything but the outputs the cache keeps (the
    /// winning outputs of tasks with a key, in a run with the cache on).
    /// </summary>
    public bool IsCollectable(string key) => !_kept.ContainsKey(key);

    /// <summary>Keeps the outputs of <paramref name="marker"/> from collection, when the cache is to hold them. Call before they are held.</summary>
    public void Keep(CommitMarker marker)
    {
        if (Mode != CacheMode.On || marker.CachedFrom is not null || Keys[marker.Task] is null)
        {
            return;
        }

        foreach (var segment in marker.Outputs.SelectMany(o => o.AsSegments()))
        {
            if (segment.Key.StartsWith(_layout.DataPrefix, StringComparison.Ordinal))
            {
                _kept.TryAdd(segment.Key, 0);
            }
        }
    }

    /// <summary>Records why a task's entry was not used.</summary>
    private void Invalid(TaskId task, string key, string why)
    {
        Interlocked.Increment(ref _invalid);
        if (_reasons.Count < MaxReasons)
        {
            _reasons.Enqueue($"task {task} ({_plan.Stages[task.Stage].Name}): cache entry {key[..12]}… not used: {why}");
        }
    }

    /// <summary>
    /// A cached task's output was found missing or damaged while the run read it: its entry is deleted (best effort)
    /// and the reason recorded; the run sets its commit aside and runs it.
    /// </summary>
    public async Task InvalidateAsync(CommitMarker marker, string reason)
    {
        if (marker.CachedFrom is not { } key)
        {
            return;
        }

        Invalid(marker.Task, key, reason);
        try
        {
            await _store.DeleteAsync([CacheLayout.EntryKey(key)], CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectStoreException)
        {
            // The entry stays; the task's new entry replaces it at the end of the run.
        }
    }

    private static async Task<byte[]?> TryReadAllBytesAsync(IObjectStore store, string key, CancellationToken cancellationToken)
    {
        // On a folder a missing entry (most lookups of a first run) is found by a stat, without an exception thrown.
        if (store is IAtomicCreateStore && await store.HeadAsync(key, cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        try
        {
            return await store.ReadAllBytesAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    private static string HitAttemptId() => string.Create(CultureInfo.InvariantCulture, $"c00-{Random.Shared.Next():x8}");
}
