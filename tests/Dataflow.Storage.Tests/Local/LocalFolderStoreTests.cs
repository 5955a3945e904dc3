using System.Security.Cryptography;
using System.Text;

namespace Dataflow.Storage.Tests.Local;

/// <summary>What only the local folder store does: its layout on disk, its temporary folder, pruning, opening.</summary>
/// <summary>The tests of what only the local folder store does.</summary>
/// <remarks>One concept, kept in one file.</remarks>
public sealed class LocalFolderStoreTests : IAsyncLifetime
{
    private const string Tmp = LocalFolderStore.TempFolderName;

    // <base>/outer/inner/store is the root; secrets lie next to it at every level up to <base>.
    private readonly string _base = Path.Combine(Path.GetTempPath(), "dataflow-storage-tests", Guid.NewGuid().ToString("N"));
    private readonly string _root;
    private IObjectStore _store = null!;

    public LocalFolderStoreTests()
    {
        _root = Path.Combine(_base, "outer", "inner", "store");
    }

    public Task InitializeAsync()
    {
        _store = ObjectStore.OpenFolder(_root);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        if (Directory.Exists(_base))
        {
            Directory.Delete(_base, recursive: true);
        }
    }

    private string TempFolder => Path.Combine(_root, Tmp);

    private string[] TempFiles() =>
        Directory.Exists(TempFolder) ? Directory.GetFiles(TempFolder, "*", SearchOption.AllDirectories) : [];

    private string FileOf(string key) => Path.Combine([_root, .. key.Split('/')]);

    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    private async Task<List<string>> KeysAsync(string prefix = "") =>
        (await _store.ListAllAsync(prefix)).Select(i => i.Key).ToList();

    /// <summary>Every file and folder under <paramref name="folder"/> except the store's root, with a hash of each file's content.</summary>
    private Dictionary<string, string> SnapshotOutsideRoot(string folder)
    {
        var snapshot = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
        {
            var full = Path.GetFullPath(entry);
            if (full == _root || full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue;
            }

            snapshot[full] = File.Exists(full) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(full))) : "<dir>";
        }

        return snapshot;
    }

    // ---------------------------------------------------------------- keys cannot escape the root

    [Fact]
    public async Task AnyOperation_KeyEscapeAttempts_NeverReadOrWriteOutsideRoot()
    {
        var secret = Text("TOP SECRET " + Guid.NewGuid());
        var inner = Path.GetDirectoryName(_root)!;
        var outer = Path.GetDirectoryName(inner)!;
        await File.WriteAllBytesAsync(Path.Combine(inner, "secret"), secret);
        await File.WriteAllBytesAsync(Path.Combine(outer, "secret"), secret);
        await File.WriteAllBytesAsync(Path.Combine(_base, "secret"), secret);
        Directory.CreateDirectory(Path.Combine(inner, "store-sibling"));
        await File.WriteAllBytesAsync(Path.Combine(inner, "store-sibling", "secret"), secret);
        await _store.PutAsync("inside", Text("inside"));
        var before = SnapshotOutsideRoot(_base);

        string[] keys =
        [
            "../secret", "../../secret", "../../../secret", "a/../../secret", "./../secret", "..", "../", "../store-sibling/secret",
            "../store/../secret", "..\\secret", "a\\..\\..\\secret", Path.Combine(inner, "secret"),
            "//" + Path.Combine(inner, "secret").TrimStart('/'), Path.GetRelativePath("/", Path.Combine(inner, "secret")), "~/secret", "../new-file",
            "../../new-folder/new-file", "..\0/secret", "C:/secret", "c:secret",
            // Valid keys that merely look like escapes: they must stay inside the root.
            "%2e%2e/secret", ".%2E/secret", "\u2025/secret", "\uFF0E\uFF0E/secret", "...", ".../secret", "..a/secret", "a../secret",
        ];
        var failures = new List<string>();
        foreach (var key in keys)
        {
            // Reads first (nothing exists yet under a lookalike key), then writes, then a delete that removes what a
            // lookalike key wrote, so that every key starts from the same state.
            Func<Task>[] operations =
            [
                async () => AssertNotSecret(key, (await _store.HeadAsync(key))?.Size == secret.Length ? await _store.ReadAllBytesAsync(key) : null),
                async () => AssertNotSecret(key, await _store.ReadAllBytesAsync(key)),
                async () => AssertNotSecret(key, await ReadComposedAsync(key)),
                async () => await _store.MoveAsync(key, "moved-in"),
                async () => await _store.ListAllAsync(key),
                async () => await _store.ListAllAsync(key + "/"),
                async () => await _store.PutAsync(key, Text("written")),
                async () => await _store.ComposeAsync(key, [ObjectSegment.Whole("inside", 6)]),
                async () =>
                {
                    await _store.MoveAsync("inside", key);
                    await _store.MoveAsync(key, "inside");
                },
                async () => await _store.DeleteAsync([key]),
            ];
            foreach (var operation in operations)
            {
                var ex = await Record.ExceptionAsync(operation);
                if (ex is not (null or InvalidObjectKeyException or ObjectNotFoundException))
                {
                    failures.Add($"{key.Replace("\0", "\\0", StringComparison.Ordinal)}: {ex.GetType().Name}: {ex.Message}");
                }
            }

            var resolved = Path.GetFullPath(Path.Join(_root, key.Replace("\0", "", StringComparison.Ordinal)));
            if (!resolved.StartsWith(_base, StringComparison.Ordinal) && !before.ContainsKey(resolved) && Path.Exists(resolved))
            {
                failures.Add($"{key}: created {resolved}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.Equal(before, SnapshotOutsideRoot(_base));
        Assert.Null(await _store.HeadAsync("composed"));
        Assert.Null(await _store.HeadAsync("moved-in"));
        Assert.All(await _store.ListAllAsync(""), i => Assert.True(File.Exists(FileOf(i.Key)), i.Key));
        Assert.Equal(Text("inside"), await _store.ReadAllBytesAsync("inside"));

        async Task<byte[]> ReadComposedAsync(string key)
        {
            await _store.ComposeAsync("composed", [ObjectSegment.Whole(key, secret.Length)]);
            return await _store.ReadAllBytesAsync("composed");
        }

        void AssertNotSecret(string key, byte[]? content)
        {
            if (content is not null && content.AsSpan().SequenceEqual(secret))
            {
                failures.Add($"{key}: read the secret");
            }
        }
    }

    [Fact]
    public async Task PutAsync_LookalikeDotKeys_StayInsideRoot()
    {
        string[] keys = ["%2e%2e/x", "\uFF0E\uFF0E/x", "...", "..a/x", "a../x"];
        foreach (var key in keys)
        {
            await _store.PutAsync(key, Text(key));
        }

        foreach (var key in keys)
        {
            Assert.Equal(Text(key), await File.ReadAllBytesAsync(FileOf(key)));
            Assert.StartsWith(_root + Path.DirectorySeparatorChar, Path.GetFullPath(FileOf(key)), StringComparison.Ordinal);
        }

        Assert.Equal(keys.Order(KeyComparer.Instance), await KeysAsync());
    }

    [Fact]
    public async Task PutAsync_NestedKey_IsAFileAtTheMatchingPath()
    {
        await _store.PutAsync("a/b/c.txt", Text("abc"));

        Assert.Equal(Text("abc"), await File.ReadAllBytesAsync(Path.Combine(_root, "a", "b", "c.txt")));
    }

    [Fact]
    public async Task ListAsync_FileWrittenIntoFolderDirectly_IsListed()
    {
        Directory.CreateDirectory(Path.Combine(_root, "in"));
        await File.WriteAllTextAsync(Path.Combine(_root, "in", "data.csv"), "1,2");

        var listed = await _store.ListAllAsync("");

        Assert.Equal(["in/data.csv"], listed.Select(i => i.Key));
        Assert.Equal(3, listed[0].Size);
    }

    [Fact]
    public async Task ListAsync_EntriesWhoseNamesAreNotValidKeys_AreSkipped()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Windows file names cannot hold these characters.
        }

        await _store.PutAsync("good", Text("good"));
        await File.WriteAllTextAsync(Path.Combine(_root, "back\\slash"), "x");
        await File.WriteAllTextAsync(Path.Combine(_root, "ctrl\u0001char"), "x");
        Directory.CreateDirectory(Path.Combine(_root, "bad\nfolder"));
        await File.WriteAllTextAsync(Path.Combine(_root, "bad\nfolder", "inner"), "x");

        Assert.Equal(["good"], await KeysAsync());
    }

    [Fact]
    public async Task ListAsync_SymbolicLinkToOutsideFolder_IsNotFollowed()
    {
        var outside = Path.Combine(_base, "outside");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "o.txt"), "outside");
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(_root, "link"), outside);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return; // no symbolic links here (Windows without the privilege)
        }

        await _store.PutAsync("real", Text("real"));

        Assert.Equal(["real"], await KeysAsync());
    }

    // ---------------------------------------------------------------- the temporary folder

    [Fact]
    public async Task AnyOperation_TempFolderKeys_AreRefused()
    {
        await _store.PutAsync("ok", Text("ok"));
        var writer = await _store.OpenWriteAsync("pending");
        await using (writer)
        {
            await writer.WriteAsync(Text("pending"));
            await writer.FlushAsync();
            var tempKey = Tmp + "/" + Path.GetFileName(Assert.Single(TempFiles()));

            foreach (var key in new[] { Tmp, Tmp + "/x", Tmp + "/a/b", tempKey })
            {
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.HeadAsync(key));
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.OpenReadAsync(key));
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.PutAsync(key, Text("x")));
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.OpenWriteAsync(key));
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.DeleteAsync([key]));
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.MoveAsync(key, "moved"));
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.MoveAsync("ok", key));
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.ComposeAsync(key, [ObjectSegment.Whole("ok", 2)]));
                await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await _store.ComposeAsync("composed", [new ObjectSegment(key, 0, 0)]));
            }

            // The write in progress was not disturbed.
            Assert.Single(TempFiles());
            await writer.CompleteAsync();
        }

        Assert.Equal(["ok", "pending"], await KeysAsync());
        Assert.Equal(Text("pending"), await _store.ReadAllBytesAsync("pending"));
    }

    [Fact]
    public async Task AnyOperation_KeysThatOnlyResembleTheTempFolder_AreAccepted()
    {
        string[] keys = [Tmp + "x", Tmp + ".txt", "a/" + Tmp + "/b", "b/" + Tmp];
        foreach (var key in keys)
        {
            await _store.PutAsync(key, Text(key));
        }

        Assert.Equal(keys.Order(KeyComparer.Instance), await KeysAsync());
        Assert.Equal(keys.Length, await _store.DeleteAsync(keys));
    }

    [Fact]
    public async Task ListAsync_WriteInProgressAndLeftovers_NeverListsTheTempFolder()
    {
        await _store.PutAsync("obj", Text("obj"));
        Directory.CreateDirectory(Path.Combine(TempFolder, "nested"));
        await File.WriteAllTextAsync(Path.Combine(TempFolder, "nested", "leftover"), "x");
        await File.WriteAllTextAsync(Path.Combine(TempFolder, "0123456789abcdef0123456789abcdef"), "crashed write");
        var writer = await _store.OpenWriteAsync("pending");
        await using (writer)
        {
            await writer.WriteAsync(Text("pending"));
            await writer.FlushAsync();

            Assert.Equal(["obj"], await KeysAsync());
            Assert.Empty(await KeysAsync(Tmp));
            Assert.Empty(await KeysAsync(".data"));
        }
    }

    [Fact]
    public async Task ListAsync_TempFolderAsPrefix_ListsNothing()
    {
        // Regression: listing the prefix ".dataflow-tmp/" walked the temporary folder and listed the files of
        // writes in progress (and of crashed writes) as objects, whose keys every other operation refuses.
        await File.WriteAllTextAsync(Path.Combine(Directory.CreateDirectory(TempFolder).FullName, "leftover"), "crashed write");
        var writer = await _store.OpenWriteAsync("pending");
        await using (writer)
        {
            await writer.WriteAsync(Text("pending"));
            await writer.FlushAsync();

            Assert.Empty(await KeysAsync(Tmp + "/"));
            Assert.Empty(await KeysAsync(Tmp + "/l"));
            Assert.Empty(await KeysAsync(Tmp + "/nested/"));
        }
    }

    [Fact]
    public async Task LeftoverTempFile_FromCrashedWrite_IsInvisibleAndHarmless()
    {
        Directory.CreateDirectory(TempFolder);
        var leftover = Path.Combine(TempFolder, Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(leftover, "half-written object");

        await using var reopened = ObjectStore.OpenFolder(_root);
        Assert.Empty(await reopened.ListAllAsync(""));
        await reopened.PutAsync("a/b", Text("new"));
        Assert.Equal(["a/b"], (await reopened.ListAllAsync("")).Select(i => i.Key));
        Assert.Equal(1, await reopened.DeleteAsync(["a/b"]));
        Assert.Empty(await reopened.ListAllAsync(""));
        Assert.True(File.Exists(leftover));
    }

    [Fact]
    public async Task OpenWriteAsync_InProgress_WritesToTempFolderOnly()
    {
        var writer = await _store.OpenWriteAsync("dir/obj");
        await using (writer)
        {
            await writer.WriteAsync(Text("content"));
            await writer.FlushAsync();

            Assert.Single(TempFiles());
            Assert.False(File.Exists(FileOf("dir/obj")));
            Assert.False(Directory.Exists(Path.Combine(_root, "dir")));

            await writer.CompleteAsync();
        }

        Assert.Empty(TempFiles());
        Assert.Equal(Text("content"), await File.ReadAllBytesAsync(FileOf("dir/obj")));
    }

    [Fact]
    public async Task DisposeAsync_WithoutComplete_DeletesTempFile()
    {
        var writer = await _store.OpenWriteAsync("obj");
        await writer.WriteAsync(Text("discard me"));
        Assert.Single(TempFiles());

        await writer.DisposeAsync();

        Assert.Empty(TempFiles());
        Assert.False(File.Exists(FileOf("obj")));
    }

    [Fact]
    public async Task Dispose_WithoutComplete_DeletesTempFile()
    {
        var writer = await _store.OpenWriteAsync("obj");
        await writer.WriteAsync(Text("discard me"));
        Assert.Single(TempFiles());

#pragma warning disable CA1849 // the synchronous path is the one under test
        writer.Dispose();
#pragma warning restore CA1849

        Assert.Empty(TempFiles());
        Assert.False(File.Exists(FileOf("obj")));
    }

    [Fact]
    public async Task ComposeAsync_Failing_LeavesNoTempFile()
    {
        await _store.PutAsync("s", Text("0123456789"));

        await Assert.ThrowsAsync<ObjectStoreException>(async () => await _store.ComposeAsync("out", [ObjectSegment.Whole("s", 10), new ObjectSegment("s", 5, 50)]));
        await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await _store.ComposeAsync("out", [ObjectSegment.Whole("s", 10), ObjectSegment.Whole("missing", 1)]));

        Assert.Empty(TempFiles());
        Assert.False(File.Exists(FileOf("out")));
    }

    // ---------------------------------------------------------------- folders

    [Fact]
    public async Task DeleteAsync_LastObjectsOfFolders_PrunesEmptyFoldersButNotRoot()
    {
        await _store.PutAsync("a/b/c/d.txt", Text("d"));
        await _store.PutAsync("a/x.txt", Text("x"));

        await _store.DeleteAsync(["a/b/c/d.txt"]);

        Assert.False(Directory.Exists(Path.Combine(_root, "a", "b")));
        Assert.True(Directory.Exists(Path.Combine(_root, "a")));

        await _store.DeleteAsync(["a/x.txt"]);

        Assert.False(Directory.Exists(Path.Combine(_root, "a")));
        Assert.True(Directory.Exists(_root));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_root), e => Path.GetFileName(e) != Tmp);
    }

    [Theory]
    [InlineData("only")]
    [InlineData("a/b/only")]
    public async Task DeleteAsync_LastObjectInStore_KeepsRootEvenWhenItBecomesEmpty(string key)
    {
        // Written straight to the folder, so the root holds no temporary folder that would keep it non-empty.
        Directory.CreateDirectory(Path.GetDirectoryName(FileOf(key))!);
        await File.WriteAllTextAsync(FileOf(key), "only");
        Assert.Equal([key], await KeysAsync());

        Assert.Equal(1, await _store.DeleteAsync([key]));

        Assert.True(Directory.Exists(_root));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
        await _store.PutAsync("again", Text("again"));
        Assert.Equal(["again"], await KeysAsync());
    }

    [Fact]
    public async Task DeleteAsync_FolderWithForeignFile_KeepsThatFolder()
    {
        await _store.PutAsync("a/b/obj", Text("obj"));
        await File.WriteAllTextAsync(Path.Combine(_root, "a", "notes"), "not through the store");

        await _store.DeleteAsync(["a/b/obj"]);

        Assert.False(Directory.Exists(Path.Combine(_root, "a", "b")));
        Assert.True(File.Exists(Path.Combine(_root, "a", "notes")));
    }

    [Fact]
    public async Task MoveAsync_LastObjectOfFolder_PrunesSourceFolders()
    {
        await _store.PutAsync("m/n/o", Text("o"));

        await _store.MoveAsync("m/n/o", "p/q");

        Assert.False(Directory.Exists(Path.Combine(_root, "m")));
        Assert.Equal(Text("o"), await File.ReadAllBytesAsync(FileOf("p/q")));
    }

    [Fact]
    public async Task PutAsync_UnderAKeyThatIsAnObject_ThrowsObjectStoreExceptionNamingKey()
    {
        await _store.PutAsync("a", Text("a"));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await _store.PutAsync("a/b", Text("b")));

        Assert.Equal("a/b", ex.Key);
        Assert.Contains("'a/b'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(_store.Location, ex.Message, StringComparison.Ordinal);
        Assert.Equal(Text("a"), await _store.ReadAllBytesAsync("a"));
        Assert.Empty(TempFiles());
    }

    [Fact]
    public async Task PutAsync_KeyThatIsAFolder_ThrowsObjectStoreExceptionNamingKey()
    {
        await _store.PutAsync("d/x", Text("x"));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await _store.PutAsync("d", Text("d")));

        Assert.Equal("d", ex.Key);
        Assert.Equal(["d/x"], await KeysAsync());
        Assert.Empty(TempFiles());
    }

    [Fact]
    public async Task OpenReadAsync_WhileObjectIsReplaced_KeepsReadingTheOldContent()
    {
        var old = new byte[200_000];
        old.AsSpan().Fill(1);
        await _store.PutAsync("obj", old);

        var reader = await _store.OpenReadAsync("obj");
        await using (reader)
        {
            var first = new byte[1000];
            await reader.ReadExactlyAsync(first);

            await _store.PutAsync("obj", Text("new"));

            using var rest = new MemoryStream();
            await reader.CopyToAsync(rest);
            Assert.Equal(old.Length - 1000, rest.Length);
            Assert.All(rest.ToArray(), b => Assert.Equal(1, b));
        }

        Assert.Equal(Text("new"), await _store.ReadAllBytesAsync("obj"));
    }

    // ---------------------------------------------------------------- opening

    [Fact]
    public async Task OpenFolder_PathIsAnExistingFile_ThrowsArgumentExceptionSayingItIsAFile()
    {
        var file = Path.Combine(_base, "a-file");
        await File.WriteAllTextAsync(file, "content");

        var ex = Assert.Throws<ArgumentException>(() => ObjectStore.OpenFolder(file));
        var viaOpen = Assert.Throws<ArgumentException>(() => ObjectStore.Open(file));
        var viaUri = Assert.Throws<ArgumentException>(() => ObjectStore.Open(new Uri(file).AbsoluteUri));

        foreach (var e in new[] { ex, viaOpen, viaUri })
        {
            Assert.Contains("is a file", e.Message, StringComparison.Ordinal);
            Assert.Contains(file, e.Message, StringComparison.Ordinal);
        }

        Assert.Equal("content", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task OpenFolder_ParentIsAFile_ThrowsArgumentException()
    {
        var file = Path.Combine(_base, "a-file");
        await File.WriteAllTextAsync(file, "content");

        Assert.Throws<ArgumentException>(() => ObjectStore.OpenFolder(Path.Combine(file, "store")));
    }

    [Fact]
    public async Task OpenFolder_MissingNestedFolders_CreatesThem()
    {
        var folder = Path.Combine(_base, "x", "y", "z");

        await using var store = ObjectStore.OpenFolder(folder);

        Assert.True(Directory.Exists(folder));
        await store.PutAsync("k", Text("k"));
        Assert.True(File.Exists(Path.Combine(folder, "k")));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("with space")]
    [InlineData("hash#and%percent")]
    [InlineData("é😀")]
    public async Task Open_FileUri_OpensThatFolder(string name)
    {
        var folder = Path.Combine(_base, name);
        var uri = new Uri(folder).AbsoluteUri;
        Assert.StartsWith("file:///", uri, StringComparison.Ordinal);

        await using var store = ObjectStore.Open(uri);
        await store.PutAsync("k", Text("via uri"));

        Assert.Equal(uri + "/", store.Location);
        Assert.Equal("via uri", await File.ReadAllTextAsync(Path.Combine(folder, "k")));
    }

    [Fact]
    public async Task Open_PlainPath_OpensThatFolder()
    {
        var folder = Path.Combine(_base, "plain-path");

        await using var store = ObjectStore.Open(folder);
        await store.PutAsync("k", Text("k"));

        Assert.True(File.Exists(Path.Combine(folder, "k")));
    }

    [Theory]
    [InlineData("gs://bucket/p")]
    [InlineData("http://example.com/data/")]
    [InlineData("https://example.com/data/")]
    public void Open_UnsupportedScheme_ThrowsArgumentException(string location)
    {
        var ex = Assert.Throws<ArgumentException>(() => ObjectStore.Open(location));

        Assert.Contains("not supported", ex.Message, StringComparison.Ordinal);
        Assert.Contains(location, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(location[..location.IndexOf(':', StringComparison.Ordinal)] + ":"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Open_BlankLocation_ThrowsArgumentException(string location)
    {
        Assert.ThrowsAny<ArgumentException>(() => ObjectStore.Open(location));
        Assert.ThrowsAny<ArgumentException>(() => ObjectStore.OpenFolder(location));
    }

    [Fact]
    public void Location_IsFileUriOfRootEndingInSlash()
    {
        var location = _store.Location;

        Assert.StartsWith("file:///", location, StringComparison.Ordinal);
        Assert.EndsWith("/", location, StringComparison.Ordinal);
        var uri = new Uri(location);
        Assert.True(uri.IsFile);
        Assert.Equal(_root + Path.DirectorySeparatorChar, uri.LocalPath);
    }

    [Fact]
    public async Task Location_TrailingSeparatorInPath_IsTheSame()
    {
        await using var again = ObjectStore.OpenFolder(_root + Path.DirectorySeparatorChar);

        Assert.Equal(_store.Location, again.Location);
    }

    [Fact]
    public async Task Open_Location_ReopensTheSameFolder()
    {
        await _store.PutAsync("shared/obj", Text("shared"));

        await using var reopened = ObjectStore.Open(_store.Location);

        Assert.Equal(_store.Location, reopened.Location);
        Assert.Equal(Text("shared"), await reopened.ReadAllBytesAsync("shared/obj"));
    }

    [Fact]
    public void GetUri_Key_IsFileUriOfTheObjectsFile()
    {
        foreach (var key in new[] { "a", "dir/sub/obj.txt", "with space/é 😀", "q#h%p" })
        {
            var uri = new Uri(_store.GetUri(key));

            Assert.True(uri.IsFile);
            Assert.Equal(FileOf(key), uri.LocalPath);
        }
    }

    // ---------------------------------------------------------------- options

    [Fact]
    public void Options_CopyBufferSizeBelow4096_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ObjectStore.OpenFolder(_root, new LocalFolderStoreOptions { CopyBufferSize = 4095 }));
    }

    [Fact]
    public async Task ComposeAsync_SmallCopyBufferAndFlushToDisk_ConcatenatesCorrectly()
    {
        await using var store = ObjectStore.OpenFolder(_root, new LocalFolderStoreOptions { CopyBufferSize = 4096, FlushToDisk = true });
        var a = Enumerable.Range(0, 10_001).Select(i => (byte)(i * 7)).ToArray();
        var b = Enumerable.Range(0, 5_000).Select(i => (byte)(i * 13)).ToArray();
        await store.PutAsync("a", a);
        await store.PutAsync("b", b);

        var info = await store.ComposeAsync("ab", [new ObjectSegment("a", 3, 9_000), ObjectSegment.Whole("b", 5_000), new ObjectSegment("a", 4095, 4097)]);

        byte[] expected = [.. a.AsSpan(3, 9_000), .. b, .. a.AsSpan(4095, 4097)];
        Assert.Equal(expected.Length, info.Size);
        Assert.Equal(expected, await store.ReadAllBytesAsync("ab"));
    }
}
