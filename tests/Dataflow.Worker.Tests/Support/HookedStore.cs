namespace Dataflow.Worker.Tests.Support;

/// <summary>
/// Forwards to a real store, but lets a test act (e.g. play another driver, damage an object) just before each read of
/// an object, the store's own reads of compose sources included.
/// </summary>
internal sealed class HookedStore(IObjectStore inner, Func<string, ValueTask> beforeRead) : ForwardingObjectStore(inner)
{
    public override async ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        await beforeRead(key);
        return await base.OpenReadAsync(key, offset, length, cancellationToken);
    }

    public override async ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default)
    {
        await BeforeReadingAsync(sources);
        return await base.ComposeAsync(destinationKey, sources, cancellationToken);
    }

    public override async ValueTask<StagedObject> ComposeStagedAsync(string key, string owner, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default)
    {
        await BeforeReadingAsync(sources);
        return await base.ComposeStagedAsync(key, owner, sources, cancellationToken);
    }

    public override async ValueTask<Stream> OpenSegmentAsync(ObjectSegment segment, CancellationToken cancellationToken = default)
    {
        await beforeRead(segment.Key);
        return await base.OpenSegmentAsync(segment, cancellationToken);
    }

    private async Task BeforeReadingAsync(IReadOnlyList<ObjectSegment> sources)
    {
        foreach (var key in sources.Select(s => s.Key).Distinct(StringComparer.Ordinal))
        {
            await beforeRead(key);
        }
    }
}
