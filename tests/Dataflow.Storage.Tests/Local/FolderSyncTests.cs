namespace Dataflow.Storage.Tests.Local;

public sealed class FolderSyncTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-storage-tests", Guid.NewGuid().ToString("N"));

    public FolderSyncTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Flush_MissingFolder_ThrowsNamingIt()
    {
        var missing = Path.Combine(_root, "missing");

        var ex = Assert.Throws<IOException>(() => FolderSync.Flush(missing));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flush_AFileRatherThanAFolder_Throws()
    {
        var file = Path.Combine(_root, "file");
        File.WriteAllText(file, "x");

        var ex = Assert.Throws<IOException>(() => FolderSync.Flush(file));

        Assert.Contains("Not a directory", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlushedStore_WriteIntoNewNestedFolders_IsReadBack()
    {
        await using var store = ObjectStore.OpenFolder(Path.Combine(_root, "store"), new LocalFolderStoreOptions { FlushToDisk = true });

        await store.PutAsync("a/b/c/object", "hello"u8.ToArray());
        Assert.True(await ((IAtomicCreateStore)store).TryCreateAsync("a/d/created", "once"u8.ToArray()));
        await store.MoveAsync("a/b/c/object", "e/f/moved");

        Assert.Equal("hello"u8.ToArray(), await store.ReadAllBytesAsync("e/f/moved"));
        Assert.Equal("once"u8.ToArray(), await store.ReadAllBytesAsync("a/d/created"));
    }
}
