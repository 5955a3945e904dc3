using System.Globalization;
using System.Text;

namespace Dataflow.Storage.Tests.Local;

/// <summary>The folder store's entity tags (a file's modification time and size), reads of one version, and key limits.</summary>
public sealed class LocalFolderStoreVersionTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "dataflow-storage-tests", Guid.NewGuid().ToString("N"));
    private readonly string _root;
    private readonly IObjectStore _store;

    public LocalFolderStoreVersionTests()
    {
        _root = Path.Combine(_base, "store");
        _store = ObjectStore.OpenFolder(_root);
    }

    public void Dispose()
    {
        if (Directory.Exists(_base))
        {
            Directory.Delete(_base, recursive: true);
        }
    }

    private string FileOf(string key) => Path.Combine([_root, .. key.Split('/')]);

    private string[] TempFiles()
    {
        var folder = Path.Combine(_root, LocalFolderStore.TempFolderName);
        return Directory.Exists(folder) ? Directory.GetFiles(folder) : [];
    }

    private static byte[] Bytes(int count, byte value) => Enumerable.Repeat(value, count).ToArray();

    [Fact]
    public async Task ETag_IsTheFilesModificationTimeAndSize()
    {
        var info = await _store.PutAsync("a/b", Bytes(300, 1));

        var time = File.GetLastWriteTimeUtc(FileOf("a/b"));
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"\"{time.Ticks:x}-{300:x}\""), info.ETag);
        Assert.Equal(time, info.LastModified.UtcDateTime);
    }

    [Fact]
    public async Task ETag_FileTouchedWithoutChange_Changes()
    {
        var info = await _store.PutAsync("obj", Bytes(10, 1));

        File.SetLastWriteTimeUtc(FileOf("obj"), info.LastModified.UtcDateTime.AddTicks(1));

        Assert.NotEqual(info.ETag, (await _store.HeadAsync("obj"))!.ETag);
    }

    [Fact]
    public async Task ETag_SameSizeRewriteWithTheTimeSetBack_IsNotDetected()
    {
        // The documented limit: a copy that restores the modification time (cp -p, touch -r) of a file of the same
        // size keeps the tag, though its bytes changed.
        var info = await _store.PutAsync("obj", Bytes(10, 1));

        await File.WriteAllBytesAsync(FileOf("obj"), Bytes(10, 2));
        File.SetLastWriteTimeUtc(FileOf("obj"), info.LastModified.UtcDateTime);

        Assert.Equal(info.ETag, (await _store.HeadAsync("obj"))!.ETag);
    }

    [Fact]
    public async Task MoveAsync_Rename_KeepsTheTagAndReturnsIt()
    {
        var info = await _store.PutAsync("from", Bytes(100, 1));

        var moved = await _store.MoveAsync("from", "to/there");

        Assert.Equal(info.ETag, moved.ETag);
        Assert.Equal(info.ETag, (await _store.HeadAsync("to/there"))!.ETag);
        Assert.Equal(info.ETag, (await _store.MoveAsync("to/there", "to/there")).ETag);
    }

    [Fact]
    public async Task OpenSegmentAsync_FileReplacedAfterItWasListed_IsRefused()
    {
        await _store.PutAsync("obj", Bytes(100, 1));
        var listed = (await _store.ListAllAsync("")).Single();

        // Another writer replaces the file (same size, a later time) between the listing and the open.
        var other = Path.Combine(_base, "other");
        await File.WriteAllBytesAsync(other, Bytes(100, 2));
        File.SetLastWriteTimeUtc(other, listed.LastModified.UtcDateTime.AddSeconds(1));
        File.Move(other, FileOf("obj"), overwrite: true);

        var ex = await Assert.ThrowsAsync<ObjectChangedException>(async () => await _store.OpenSegmentAsync(new ObjectSegment("obj", 0, 100) { ETag = listed.ETag }));
        var now = (await _store.HeadAsync("obj"))!;
        var stream = await _store.OpenSegmentAsync(new ObjectSegment("obj", 50, 50) { ETag = now.ETag });
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(Bytes(50, 2), copy.ToArray());
        }

        Assert.Equal(now.ETag, ex.Actual);
        Assert.Equal(listed.ETag, ex.Expected);
    }

    [Fact]
    public async Task HeadAndList_SymbolicLinkToAFile_DescribeTheFileItLeadsTo()
    {
        var target = Path.Combine(_base, "target.bin");
        await File.WriteAllBytesAsync(target, Bytes(5000, 7));
        Directory.CreateDirectory(_root);
        File.CreateSymbolicLink(FileOf("link"), target);

        var head = (await _store.HeadAsync("link"))!;
        var listed = (await _store.ListAllAsync("")).Single();

        Assert.Equal(5000, head.Size);
        Assert.Equal(head, listed);
        var stream = await _store.OpenSegmentAsync(new ObjectSegment("link", 4000, 1000) { ETag = listed.ETag });
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task OpenSegmentAsync_TagWithoutQuotes_IsTheSameTag()
    {
        var info = await _store.PutAsync("obj", Bytes(10, 1));

        var stream = await _store.OpenSegmentAsync(new ObjectSegment("obj", 0, 10) { ETag = info.ETag!.Trim('"') });

        await stream.DisposeAsync();
    }

    [Fact]
    public async Task ComposeAsync_SourceReplacedSinceItsTag_LeavesNoTemporaryFileAndNoObject()
    {
        var info = await _store.PutAsync("s", Bytes(100, 1));
        File.SetLastWriteTimeUtc(FileOf("s"), info.LastModified.UtcDateTime.AddSeconds(-5));

        await Assert.ThrowsAsync<ObjectChangedException>(async () => await _store.ComposeAsync("out", [new ObjectSegment("s", 0, 100) { ETag = info.ETag }]));

        Assert.Empty(TempFiles());
        Assert.False(File.Exists(FileOf("out")));
    }

    [Fact]
    public void CheckKey_NamesOfUpTo255Bytes_AreAccepted()
    {
        Assert.Null(_store.CheckKey(new string('n', LocalFolderStore.NameMax)));
        Assert.Null(_store.CheckKey("dir/" + new string('é', 127) + "x"));
    }

    [Theory]
    [InlineData(256, "n")]
    [InlineData(128, "é")]
    [InlineData(64, "😀")]
    public void CheckKey_NameOver255Bytes_NamesTheKeyAndTheLimit(int count, string character)
    {
        var name = string.Concat(Enumerable.Repeat(character, count));
        var key = "dir/" + name + "/x";

        var reason = _store.CheckKey(key);

        Assert.NotNull(reason);
        Assert.Contains(key, reason, StringComparison.Ordinal);
        Assert.Contains("255", reason, StringComparison.Ordinal);
        Assert.Contains("256 UTF-8 bytes", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckKey_PathOver4095Bytes_NamesTheKeyAndTheLimit()
    {
        // A root deep enough that a key of 1,000 bytes takes the path past PATH_MAX.
        var root = _base;
        while (Encoding.UTF8.GetByteCount(root) < 3200)
        {
            root = Path.Combine(root, new string('d', 200));
        }

        var store = ObjectStore.OpenFolder(root);

        // Names of 200 bytes, so that only the whole path is too long: "<root>/<key>" of 4,095 bytes fits.
        var left = LocalFolderStore.PathMax - 1 - Encoding.UTF8.GetByteCount(root) - 1;
        var key = new StringBuilder();
        while (left > 201)
        {
            key.Append('k', 200).Append('/');
            left -= 201;
        }

        var fits = key.Append('k', left).ToString();
        var longer = fits + "k";

        Assert.Null(store.CheckKey(fits));
        var reason = store.CheckKey(longer);

        Assert.NotNull(reason);
        Assert.Contains(longer[..40], reason, StringComparison.Ordinal);
        Assert.Contains("4095", reason, StringComparison.Ordinal);
        Assert.Contains("PATH_MAX", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RetriedRequests_FolderStore_IsZero() => Assert.Equal(0, _store.RetriedRequests);
}
