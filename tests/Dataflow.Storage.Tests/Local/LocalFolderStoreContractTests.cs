namespace Dataflow.Storage.Tests.Local;

/// <summary>The store contract, run against a fresh local folder per test.</summary>
public class LocalFolderStoreContractTests : ObjectStoreContractTests
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "dataflow-storage-tests", Guid.NewGuid().ToString("N"), "store");

    /// <summary>The options the store is opened with.</summary>
    protected virtual LocalFolderStoreOptions Options => new();

    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult(ObjectStore.OpenFolder(_folder, Options));

    /// <summary>
    /// Two writes in a row may get the same modification time (the kernel's file clock advances in ticks of a few
    /// milliseconds): the rewrite is dated a second later, as a later write would be.
    /// </summary>
    protected override Task AfterRewriteAsync(string key, ObjectInfo before)
    {
        var path = Path.Combine([_folder, .. key.Split('/')]);
        if (File.GetLastWriteTimeUtc(path) <= before.LastModified.UtcDateTime)
        {
            File.SetLastWriteTimeUtc(path, before.LastModified.UtcDateTime.AddSeconds(1));
        }

        return Task.CompletedTask;
    }

    protected override Task DestroyStoreAsync()
    {
        try
        {
            // Every test deleted its objects (the base class does), so the folder must be empty by now: no object
            // folders left behind (deletes prune them) and no temporary files (discarded and failed writes remove them).
            var leftovers = Directory.Exists(_folder)
                ? Directory.EnumerateFileSystemEntries(_folder, "*", SearchOption.AllDirectories)
                    .Where(p => Path.GetRelativePath(_folder, p) != LocalFolderStore.TempFolderName)
                    .ToList()
                : [];
            Assert.True(leftovers.Count == 0, "left behind in the store folder: " + string.Join(", ", leftovers));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(_folder)!, recursive: true);
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// The store contract again with every object and name flushed to the disk (<c>--fsync</c>): the same answers, and
/// no flush fails (a folder that cannot be opened or flushed would fail the write that needed it).
/// </summary>
public sealed class LocalFolderStoreFlushedContractTests : LocalFolderStoreContractTests
{
    protected override LocalFolderStoreOptions Options => new() { FlushToDisk = true };
}
