using System.Threading.Channels;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// Deletes intermediate objects once nothing holds them. A holder (an artifact) holds the objects whose bytes it
/// is made of: its own object, or for a reference every object it points into. When a holder is released (all its
/// consumers have committed), objects that no other holder holds are deleted — at once in
/// <see cref="GcMode.Eager"/>, at <see cref="CompleteAsync"/> in <see cref="GcMode.End"/>, never in
/// <see cref="GcMode.Never"/>. Deletes are batched (up to <see cref="BatchSize"/> keys a call).
/// </summary>
/// <remarks>
/// Deletion failures do not fail the run: they are recorded in <see cref="Errors"/>, and the objects stay behind
/// (the run's summary counts them).
/// </remarks>
internal sealed class ArtifactCollector : IAsyncDisposable
{
    /// <summary>Keys per delete call: the S3 DeleteObjects limit.</summary>
    public const int BatchSize = 1000;

    private readonly IObjectStore _store;
    private readonly Func<string, bool> _isCollectable;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _holdCounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _holdings = new(StringComparer.Ordinal);
    private readonly List<string> _pending = [];
    private readonly Channel<string>? _queue;
    private readonly Task _deleter = Task.CompletedTask;
    private readonly List<Exception> _errors = [];
    private int _deleted;

    /// <summary>Creates a collector.</summary>
    /// <param name="store">The store to delete from.</param>
    /// <param name="mode">When to delete.</param>
    /// <param name="isCollectable">Which keys may ever be deleted (intermediate data of the run, never inputs or final outputs).</param>
    public ArtifactCollector(IObjectStore store, GcMode mode, Func<string, bool> isCollectable)
    {
        _store = store;
        Mode = mode;
        _isCollectable = isCollectable;
        if (mode == GcMode.Eager)
        {
            // Bounded: if deletes fall behind, committing tasks wait rather than queue without limit.
            _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(4 * BatchSize) { SingleReader = true });
            _deleter = Task.Run(DeleteQueuedAsync);
        }
    }

    /// <summary>When this collector deletes.</summary>
    public GcMode Mode { get; }

    /// <summary>Objects deleted so far.</summary>
    public int Deleted => Volatile.Read(ref _deleted);

    /// <summary>Failures of delete calls so far.</summary>
    public IReadOnlyList<Exception> Errors
    {
        get
        {
            lock (_gate)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Records that <paramref name="holder"/> is made of the bytes of <paramref name="keys"/>. Hold before releasing what the holder was made from.</summary>
    /// <exception cref="InvalidOperationException">The holder already holds objects.</exception>
    public void Hold(string holder, IEnumerable<string> keys)
    {
        var distinct = keys.Where(_isCollectable).Distinct(StringComparer.Ordinal).ToArray();
        lock (_gate)
        {
            if (!_holdings.TryAdd(holder, distinct))
            {
                throw new InvalidOperationException($"artifact '{holder}' already holds objects");
            }

            foreach (var key in distinct)
            {
                _holdCounts[key] = _holdCounts.GetValueOrDefault(key) + 1;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="holder"/> hold <paramref name="keys"/> instead of what it held (a task that commits
    /// again): the new objects are held first, then objects of the old holding that nobody holds any more become garbage.
    /// </summary>
    public ValueTask ReplaceAsync(string holder, IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        var distinct = keys.Where(_isCollectable).Distinct(StringComparer.Ordinal).ToArray();
        List<string>? garbage = null;
        lock (_gate)
        {
            foreach (var key in distinct)
            {
                _holdCounts[key] = _holdCounts.GetValueOrDefault(key) + 1;
            }

            if (_holdings.Remove(holder, out var old))
            {
                garbage = Unhold(old);
            }

            _holdings[holder] = distinct;
        }

        return garbage is null ? ValueTask.CompletedTask : CollectAsync(garbage, cancellationToken);
    }

    /// <summary>Releases everything <paramref name="holder"/> holds; objects nobody else holds become garbage.</summary>
    public ValueTask ReleaseAsync(string holder, CancellationToken cancellationToken = default)
    {
        List<string>? garbage = null;
        lock (_gate)
        {
            if (!_holdings.Remove(holder, out var keys))
            {
                return ValueTask.CompletedTask;
            }

            garbage = Unhold(keys);
        }

        return garbage is null ? ValueTask.CompletedTask : CollectAsync(garbage, cancellationToken);
    }

    /// <summary>Drops one hold on each of <paramref name="keys"/>; returns those nobody holds any more. Call under the lock.</summary>
    private List<string>? Unhold(string[] keys)
    {
        List<string>? garbage = null;
        foreach (var key in keys)
        {
            var count = _holdCounts[key] - 1;
            if (count == 0)
            {
                _holdCounts.Remove(key);
                (garbage ??= []).Add(key);
            }
            else
            {
                _holdCounts[key] = count;
            }
        }

        return garbage;
    }

    /// <summary>Marks objects that nothing will ever hold (outputs of a failed attempt) as garbage.</summary>
    public ValueTask DiscardAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        List<string> garbage;
        lock (_gate)
        {
            garbage = keys.Where(k => _isCollectable(k) && !_holdCounts.ContainsKey(k)).ToList();
        }

        return garbage.Count == 0 ? ValueTask.CompletedTask : CollectAsync(garbage, cancellationToken);
    }

    /// <summary>True when <paramref name="key"/> may ever be deleted (see the constructor's <c>isCollectable</c>).</summary>
    public bool IsCollectable(string key) => _isCollectable(key);

    /// <summary>True when some holder holds <paramref name="key"/>.</summary>
    public bool IsHeld(string key)
    {
        lock (_gate)
        {
            return _holdCounts.ContainsKey(key);
        }
    }

    /// <summary>Deletes whatever garbage is still waiting (all of it in <see cref="GcMode.End"/>) and waits for the deletes to finish.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_queue is not null)
        {
            _queue.Writer.TryComplete();
            await _deleter.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        string[] pending;
        lock (_gate)
        {
            pending = [.. _pending];
            _pending.Clear();
        }

        for (var i = 0; i < pending.Length; i += BatchSize)
        {
            await DeleteBatchAsync(pending.AsMemory(i, Math.Min(BatchSize, pending.Length - i)).ToArray(), cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue?.Writer.TryComplete();
        await _deleter.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async ValueTask CollectAsync(List<string> garbage, CancellationToken cancellationToken)
    {
        switch (Mode)
        {
            case GcMode.Eager:
                foreach (var key in garbage)
                {
                    await _queue!.Writer.WriteAsync(key, cancellationToken).ConfigureAwait(false);
                }

                break;
            case GcMode.End:
                lock (_gate)
                {
                    _pending.AddRange(garbage);
                }

                break;
            case GcMode.Never:
            default:
                break;
        }
    }

    private async Task DeleteQueuedAsync()
    {
        var reader = _queue!.Reader;
        var batch = new List<string>(BatchSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < BatchSize && reader.TryRead(out var key))
            {
                batch.Add(key);
            }

            await DeleteBatchAsync(batch, CancellationToken.None).ConfigureAwait(false);
            batch.Clear();
        }
    }

    private async Task DeleteBatchAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        try
        {
            var deleted = await _store.DeleteAsync(keys, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _deleted, deleted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Only a cancellation the caller asked for propagates; any other one (e.g. a client's timeout) is a failure.
            lock (_gate)
            {
                _errors.Add(ex);
            }
        }
    }
}
