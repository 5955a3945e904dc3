using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The UI server's <see cref="RunWatcher"/>s, one per run a page looks at, shared by every browser: a run is read
/// again at most every <see cref="MinInterval"/>, each refresh reading new commit records for at most
/// <see cref="RefreshBudget"/> (a million-task run is read over several requests, never in one long one), and the
/// runs looked at least recently are dropped beyond <see cref="MaxRuns"/>.
/// </summary>
internal sealed class RunWatchers(IObjectStore store, TimeProvider time) : IDisposable
{
    /// <summary>Runs kept in memory at most (a million-task run's watcher holds about 40 MB).</summary>
    public const int MaxRuns = 16;

    /// <summary>The least time between two refreshes of one run.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(400);

    /// <summary>How long one refresh may go on reading new commit records.</summary>
    public static readonly TimeSpan RefreshBudget = TimeSpan.FromMilliseconds(300);

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The run's watcher, refreshed unless it was a moment ago; <see langword="null"/> when the store has nothing of the run.</summary>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public async Task<RunWatcher?> GetAsync(string runId, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_gate)
        {
            if (!_entries.TryGetValue(runId, out entry!))
            {
                entry = new Entry(new RunWatcher(store, runId, time));
                _entries[runId] = entry;
                if (_entries.Count > MaxRuns)
                {
                    var oldest = _entries.Where(e => e.Value != entry).MinBy(e => e.Value.LastUsed).Key;
                    // Not disposed: a request may still be reading it (its semaphore holds no handle; the GC takes it).
                    _entries.Remove(oldest);
                }
            }

            entry.LastUsed = time.GetTimestamp();
        }

        // One refresh at a time per run (RefreshAsync serializes); one a moment ago is good enough for everyone.
        if (entry.Refreshed is null || time.GetElapsedTime(entry.Refreshed.Value) >= MinInterval || entry.Watcher.RecordsPending > 0)
        {
            var exists = await entry.Watcher.RefreshAsync(RefreshBudget, cancellationToken).ConfigureAwait(false);
            entry.Refreshed = time.GetTimestamp();
            entry.Exists = exists;
        }

        return entry.Exists ? entry.Watcher : null;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var entry in _entries.Values)
            {
                entry.Watcher.Dispose();
            }

            _entries.Clear();
        }
    }

    private sealed class Entry(RunWatcher watcher)
    {
        public RunWatcher Watcher { get; } = watcher;

        public long LastUsed { get; set; }

        public long? Refreshed { get; set; }

        public bool Exists { get; set; }
    }
}
