namespace Dataflow.Storage;

/// <summary>
/// What <see cref="LocalFolderStoreOptions.FlushToDisk"/> adds once a flushed file has its name: the name itself
/// flushed, so that an object (a commit record, a published output) that was visible before a power cut is still
/// there after it.
/// </summary>
internal sealed partial class LocalFolderStore
{
    /// <summary>
    /// Flushes the folder that holds <paramref name="path"/>; when the write made that folder (or its parents),
    /// every folder up to the store's root too, whose entries name the new ones.
    /// </summary>
    private void FlushNames(string path, string key, bool madeFolder)
    {
        try
        {
            var folder = Path.GetDirectoryName(path)!;
            FolderSync.Flush(folder);
            while (madeFolder && folder.Length > _root.Length && folder.StartsWith(_root, StringComparison.Ordinal))
            {
                folder = Path.GetDirectoryName(folder)!;
                FolderSync.Flush(folder);
            }
        }
        catch (IOException ex)
        {
            throw new ObjectStoreException(Location, key, $"written, but not flushed to the disk ({ex.Message})", ex);
        }
    }
}
