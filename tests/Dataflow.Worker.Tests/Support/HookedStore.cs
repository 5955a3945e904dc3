namespace Dataflow.Worker.Tests.Support;

/// <summary>Forwards to a real store, but lets a test act (e.g. play another driver) just before each read of an object.</summary>
internal sealed class HookedStore(IObjectStore inner, Func<string, ValueTask> beforeRead) : IObjectStore
{
    public string Location => inner.Location;

    public string GetUri(string key) => inner.GetUri(key);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public ValueTask<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) => inner.HeadAsync(key, cancellationToken);

    public async ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        await beforeRead(key);
        return await inner.OpenReadAsync(key, offset, length, cancellationToken);
    }

    public ValueTask<ObjectWriteStream> OpenWriteAsync(string key, CancellationToken cancellationToken = default) => inner.OpenWriteAsync(key, cancellationToken);

    public ValueTask<int> DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) => inner.DeleteAsync(keys, cancellationToken);

    public ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default) =>
        inner.ComposeAsync(destinationKey, sources, cancellationToken);

    public ValueTask<ObjectInfo> MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default) =>
        inner.MoveAsync(sourceKey, destinationKey, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
