namespace Dataflow.Storage.Tests.Local;

/// <summary>The store contract, run against a fresh local folder per test.</summary>
public sealed class LocalFolderStoreContractTests : ObjectStoreContractTests
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "dataflow-storage-tests", Guid.NewGuid().ToString("N"), "store");

    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult(ObjectStore.OpenFolder(_folder));

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
