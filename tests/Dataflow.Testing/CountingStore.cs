using System.Collections.Concurrent;

namespace Dataflow.Testing;

/// <summary>
/// Forwards everything to a real store (see <see cref="ForwardingObjectStore"/>) and records the requests that read:
/// each listing (by its prefix), each read and each head (by key) — and, in <see cref="Calls"/>, every call by the kind
/// of store request it is (as a folder store counts them: one request per call). A driver's store wrapped in it
/// counts that driver's requests alone: its workers (other processes) open stores of their own.
/// </summary>
public sealed class CountingStore(IObjectStore inner) : ForwardingObjectStore(inner)
{
    private readonly ConcurrentQueue<(string Verb, string Key)> _requests = new();
    private readonly ConcurrentQueue<(StoreRequestKind Kind, string Key)> _calls = new();

    /// <summary>
    /// Every call so far, in order, by kind: list (a prefix), head (head, identity), get (read, segment), put (write,
    /// staged write, publish), copy (compose, move), delete (its first key). Aborting uploads and removing leftovers are
    /// not requests of the folder store and are not recorded.
    /// </summary>
    public IReadOnlyList<(StoreRequestKind Kind, string Key)> Calls => [.. _calls];

    /// <summary>The calls recorded so far, by kind; those <paramref name="exclude"/> says so about are left out.</summary>
    public StoreRequestCounts CountCalls(Func<(StoreRequestKind Kind, string Key), bool>? exclude = null)
    {
        var counts = new StoreRequestCounts();
        foreach (var call in _calls)
        {
            if (exclude is null || !exclude(call))
            {
                counts.Count(call.Kind);
            }
        }

        return counts;
    }

    /// <summary>Every reading request so far, in order: <c>list</c> (of a prefix), <c>read</c> or <c>head</c> (of a key).</summary>
    public IReadOnlyList<(string Verb, string Key)> Requests => [.. _requests];

    /// <summary>The reading requests whose key or listed prefix starts with <paramref name="prefix"/>.</summary>
    public int Count(string prefix) => _requests.Count(r => r.Key.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>The reading requests made with <paramref name="verb"/> whose key or listed prefix starts with <paramref name="prefix"/>.</summary>
    public int Count(string verb, string prefix) => _requests.Count(r => r.Verb == verb && r.Key.StartsWith(prefix, StringComparison.Ordinal));

    public override IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        _requests.Enqueue(("list", prefix));
        _calls.Enqueue((StoreRequestKind.List, prefix));
        return base.ListAsync(prefix, cancellationToken);
    }

    public override ValueTask<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        _requests.Enqueue(("head", key));
        _calls.Enqueue((StoreRequestKind.Head, key));
        return base.HeadAsync(key, cancellationToken);
    }

    public override ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        _requests.Enqueue(("read", key));
        _calls.Enqueue((StoreRequestKind.Get, key));
        return base.OpenReadAsync(key, offset, length, cancellationToken);
    }

    public override ValueTask<Stream> OpenSegmentAsync(ObjectSegment segment, CancellationToken cancellationToken = default)
    {
        _calls.Enqueue((StoreRequestKind.Get, segment.Key));
        return base.OpenSegmentAsync(segment, cancellationToken);
    }

    public override ValueTask<string?> GetIdentityAsync(string key, CancellationToken cancellationToken = default)
    {
        _calls.Enqueue((StoreRequestKind.Head, key));
        return base.GetIdentityAsync(key, cancellationToken);
    }

    public override ValueTask<ObjectWriteStream> OpenWriteAsync(string key, CancellationToken cancellationToken = default)
    {
        _calls.Enqueue((StoreRequestKind.Put, key));
        return base.OpenWriteAsync(key, cancellationToken);
    }

    public override ValueTask<int> DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        var list = keys.ToList();
        _calls.Enqueue((StoreRequestKind.Delete, list.Count == 0 ? "" : list[0]));
        return base.DeleteAsync(list, cancellationToken);
    }

    public override ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default)
    {
        _calls.Enqueue((StoreRequestKind.Copy, destinationKey));
        return base.ComposeAsync(destinationKey, sources, cancellationToken);
    }

    public override ValueTask<ObjectInfo> MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        _calls.Enqueue((StoreRequestKind.Copy, destinationKey));
        return base.MoveAsync(sourceKey, destinationKey, cancellationToken);
    }

    public override ValueTask<StagedWriteStream> OpenStagedWriteAsync(string key, string owner, CancellationToken cancellationToken = default)
    {
        _calls.Enqueue((StoreRequestKind.Put, key));
        return base.OpenStagedWriteAsync(key, owner, cancellationToken);
    }

    public override ValueTask<StagedObject> ComposeStagedAsync(string key, string owner, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default)
    {
        _calls.Enqueue((StoreRequestKind.Copy, key));
        return base.ComposeStagedAsync(key, owner, sources, cancellationToken);
    }

    public override ValueTask<ObjectInfo> PublishStagedAsync(StagedObject staged, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(staged);
        _calls.Enqueue((StoreRequestKind.Put, staged.Key));
        return base.PublishStagedAsync(staged, cancellationToken);
    }
}
