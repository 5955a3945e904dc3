namespace Dataflow.Storage;

/// <summary>What a store says about one object.</summary>
/// <param name="Key">The object's key.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="LastModified">When it was last written.</param>
/// <param name="ETag">The store's entity tag, when it has one.</param>
public sealed record ObjectInfo(string Key, long Size, DateTimeOffset LastModified, string? ETag = null);
