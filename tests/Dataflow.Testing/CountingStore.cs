using System.Collections.Concurrent;

namespace Dataflow.Testing;

/// <summary>
/// Forwards everything to a real store (see <see cref="ForwardingObjectStore"/>) and records the requests that read:
/// each listing (by its prefix), each read and each head (by key). A driver's store wrapped in it counts that
/// driver's requests alone: its workers (other processes) open stores of their own.
/// </summary>
public sealed class CountingStore(IObjectStore inner) : ForwardingObjectStore(inner)
{
    private readonly ConcurrentQueue<(string Verb, string Key)> _requests = new();

    /// <summary>Every reading request so far, in order: <c>list</c> (of a prefix), <c>read</c> or <c>head</c> (of a key).</summary>
    public IReadOnlyList<(string Verb, string Key)> Requests => [.. _requests];

    /// <summary>The reading requests whose key or listed prefix starts with <paramref name="prefix"/>.</summary>
    public int Count(string prefix) => _requests.Count(r => r.Key.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>The reading requests made with <paramref name="verb"/> whose key or listed prefix starts with <paramref name="prefix"/>.</summary>
    public int Count(string verb, string prefix) => _requests.Count(r => r.Verb == verb && r.Key.StartsWith(prefix, StringComparison.Ordinal));

    public override IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        _requests.Enqueue(("list", prefix));
        return base.ListAsync(prefix, cancellationToken);
    }

    public override ValueTask<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        _requests.Enqueue(("head", key));
        return base.HeadAsync(key, cancellationToken);
    }

    public override ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        _requests.Enqueue(("read", key));
        return base.OpenReadAsync(key, offset, length, cancellationToken);
    }
}
