namespace Dataflow.Storage;

/// <summary>The folder store's move: a rename, no bytes copied.</summary>
internal sealed partial class LocalFolderStore
{
    public ValueTask<ObjectInfo> MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("move", Kind, destinationKey);
        StoreRequests.Count(StoreRequestKind.Copy);
        var source = PathOfObject(sourceKey);
        var destination = PathOfObject(destinationKey);
        cancellationToken.ThrowIfCancellationRequested();

        // Described before the rename, which keeps the file's time and so its tag: what is returned is the moved
        // file, even should another writer replace the destination right after.
        var moved = new FileInfo(source);
        if (!moved.Exists)
        {
            throw new ObjectNotFoundException(Location, sourceKey);
        }

        if (!string.Equals(source, destination, StringComparison.Ordinal))
        {
            MoveIntoPlace(source, destination, destinationKey);
            PruneEmptyFolders(Path.GetDirectoryName(source)!);
        }

        return ValueTask.FromResult(Describe(destinationKey, moved));
    }
}
