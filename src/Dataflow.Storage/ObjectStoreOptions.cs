namespace Dataflow.Storage;

/// <summary>The options of every kind of store, for <see cref="ObjectStore.Open(string, ObjectStoreOptions?)"/>; each store uses its own.</summary>
public sealed class ObjectStoreOptions
{
    /// <summary>Options of folder stores.</summary>
    public LocalFolderStoreOptions Local { get; init; } = new();

    /// <summary>Options of <c>s3://</c> and <c>oss://</c> stores.</summary>
    public S3StoreOptions S3 { get; init; } = new();
}
