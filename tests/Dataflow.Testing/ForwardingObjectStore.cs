namespace Dataflow.Testing;

/// <summary>
/// An <see cref="IObjectStore"/> that forwards every call to a real store: the base of test stores that fail,
/// record or intercept some calls. A subclass overrides only the calls it changes.
/// </summary>
public abstract class ForwardingObjectStore(IObjectStore inner) : IObjectStore
{
    /// <summary>The store calls are forwarded to.</summary>
    protected IObjectStore Inner { get; } = inner;

    public virtual string Location => Inner.Location;

    public virtual string GetUri(string key) => Inner.GetUri(key);

    public virtual IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) =>
        Inner.ListAsync(prefix, cancellationToken);

    public virtual ValueTask<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) =>
        Inner.HeadAsync(key, cancellationToken);

    public virtual ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
        Inner.OpenReadAsync(key, offset, length, cancellationToken);

    public virtual ValueTask<ObjectWriteStream> OpenWriteAsync(string key, CancellationToken cancellationToken = default) =>
        Inner.OpenWriteAsync(key, cancellationToken);

    public virtual ValueTask<int> DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) =>
        Inner.DeleteAsync(keys, cancellationToken);

    public virtual ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default) =>
        Inner.ComposeAsync(destinationKey, sources, cancellationToken);

    public virtual ValueTask<ObjectInfo> MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default) =>
        Inner.MoveAsync(sourceKey, destinationKey, cancellationToken);

    public virtual Task<int> AbortIncompleteUploadsAsync(string keyPrefix, CancellationToken cancellationToken = default) =>
        Inner.AbortIncompleteUploadsAsync(keyPrefix, cancellationToken);

    public virtual ValueTask<Stream> OpenSegmentAsync(ObjectSegment segment, CancellationToken cancellationToken = default) =>
        Inner.OpenSegmentAsync(segment, cancellationToken);

    public virtual bool CanStage => Inner.CanStage;

    public virtual int? MaxConcurrentReads => Inner.MaxConcurrentReads;

    public virtual ValueTask<string?> GetIdentityAsync(string key, CancellationToken cancellationToken = default) => Inner.GetIdentityAsync(key, cancellationToken);

    public virtual ValueTask<StagedWriteStream> OpenStagedWriteAsync(string key, string owner, CancellationToken cancellationToken = default) =>
        Inner.OpenStagedWriteAsync(key, owner, cancellationToken);

    public virtual ValueTask<StagedObject> ComposeStagedAsync(string key, string owner, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default) =>
        Inner.ComposeStagedAsync(key, owner, sources, cancellationToken);

    public virtual ValueTask<ObjectInfo> PublishStagedAsync(StagedObject staged, CancellationToken cancellationToken = default) =>
        Inner.PublishStagedAsync(staged, cancellationToken);

    public virtual string? CheckKey(string key) => Inner.CheckKey(key);

    public virtual Task<StoreLeftovers> RemoveLeftoversAsync(CancellationToken cancellationToken = default) =>
        Inner.RemoveLeftoversAsync(cancellationToken);

    public virtual long RetriedRequests => Inner.RetriedRequests;

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Inner.DisposeAsync();
    }
}
