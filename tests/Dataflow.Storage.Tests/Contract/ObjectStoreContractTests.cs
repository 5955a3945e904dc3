using System.Text;

namespace Dataflow.Storage.Tests.Contract;

/// <summary>
/// The behaviour every <see cref="IObjectStore"/> must have. Each implementation derives a test class from this one
/// and says how to create its store. Every test works under its own unique key prefix (<see cref="Prefix"/>) and
/// writes only a few small objects, so the tests can share one store (e.g. one S3 bucket) and run against a real server.
/// </summary>
/// <remarks>One concept, kept in one file: the contract suite every object store runs.</remarks>
public abstract partial class ObjectStoreContractTests : IAsyncLifetime
{
    private IObjectStore? _store;

    /// <summary>The prefix under which this test (one instance per test) writes all its objects.</summary>
    protected string Prefix { get; } = $"contract-tests/{Guid.NewGuid():N}/";

    /// <summary>The store under test.</summary>
    protected IObjectStore Store => _store ?? throw new InvalidOperationException("the store is not created yet");

    /// <summary>Creates (or connects to) the store under test; called once per test.</summary>
    protected abstract Task<IObjectStore> CreateStoreAsync();

    /// <summary>
    /// Whether <see cref="IObjectStore.DeleteAsync"/> counts only the objects that existed (a folder can tell) or
    /// every key asked for (S3's DeleteObjects does not say which keys existed).
    /// </summary>
    protected virtual bool DeleteCountsOnlyExisting => true;

    /// <summary>The count DeleteAsync returns for <paramref name="existing"/> existing keys among <paramref name="asked"/>.</summary>
    protected int DeleteCount(int existing, int asked) => DeleteCountsOnlyExisting ? existing : asked;

    /// <summary>Called after this test's objects are deleted and the store is disposed, e.g. to remove a temporary folder.</summary>
    protected virtual Task DestroyStoreAsync() => Task.CompletedTask;

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public async Task DisposeAsync()
    {
        try
        {
            if (_store is not null)
            {
                try
                {
                    var keys = (await _store.ListAllAsync(Prefix)).Select(i => i.Key).ToList();
                    for (var i = 0; i < keys.Count; i += 1000)
                    {
                        await _store.DeleteAsync(keys.Skip(i).Take(1000).ToList());
                    }
                }
                finally
                {
                    await _store.DisposeAsync();
                }
            }
        }
        finally
        {
            await DestroyStoreAsync();
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>The full key of <paramref name="name"/> under this test's prefix.</summary>
    protected string K(string name) => Prefix + name;

    /// <summary>Deterministic pseudo-random bytes.</summary>
    protected static byte[] Bytes(int count, int seed = 1)
    {
        var bytes = new byte[count];
        var x = (uint)seed * 2654435761u + 12345u;
        for (var i = 0; i < count; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bytes[i] = (byte)x;
        }

        return bytes;
    }

    protected static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    protected static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        await using (stream)
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer);
            return buffer.ToArray();
        }
    }

    protected async Task<byte[]> ReadRangeAsync(string key, long offset, long? length) =>
        await ReadToEndAsync(await Store.OpenReadAsync(key, offset, length));

    /// <summary>The keys under this test's prefix, relative to it, in the order the store lists them.</summary>
    protected async Task<List<string>> ListNamesAsync(string namePrefix = "") =>
        (await Store.ListAllAsync(Prefix + namePrefix)).Select(i => i.Key[Prefix.Length..]).ToList();

    private static string Printable(string key)
    {
        var builder = new StringBuilder();
        foreach (var c in key.Length > 40 ? key[..40] + "..." : key)
        {
            builder.Append(char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString());
        }

        return builder.ToString();
    }

    /// <summary>Keys every store must refuse, whatever the prefix.</summary>
    private IEnumerable<string> InvalidKeys()
    {
        string[] relative =
        [
            "../x", "a/../b", "./a", "a\\b", "a\0b", "a//b", "a/", "..", ".", "a/..", "a/.", "a\u0001b", "a\nb",
            "a\u007Fb", "a\uD800b", "x/" + new string('k', 1030),
        ];
        foreach (var key in relative)
        {
            yield return key;
            yield return Prefix + key;
        }

        yield return "";
        yield return "/abs";
        yield return "/" + Prefix + "x";
        yield return "C:/x";
        yield return "c:x";
        yield return Prefix;
        yield return new string('é', 513); // 1,026 UTF-8 bytes
    }

    private async Task AssertRefusesAllAsync(Func<string, Task> operation)
    {
        var failures = new List<string>();
        foreach (var key in InvalidKeys())
        {
            var ex = await Record.ExceptionAsync(() => operation(key));
            if (ex is not InvalidObjectKeyException)
            {
                failures.Add($"'{Printable(key)}': {(ex is null ? "accepted" : ex.GetType().Name + ": " + ex.Message)}");
            }
        }

        Assert.True(failures.Count == 0, "not refused with InvalidObjectKeyException:\n" + string.Join('\n', failures));
    }

    // ---------------------------------------------------------------- round trips

    [Fact]
    public async Task PutAsync_EmptyObject_ReadsBackEmpty()
    {
        var info = await Store.PutAsync(K("empty"), ReadOnlyMemory<byte>.Empty);

        Assert.Equal(K("empty"), info.Key);
        Assert.Equal(0, info.Size);
        Assert.Empty(await Store.ReadAllBytesAsync(K("empty")));
        Assert.Equal(0, (await Store.HeadAsync(K("empty")))?.Size);
    }

    [Fact]
    public async Task PutAsync_SmallObject_ReadsBackSameBytes()
    {
        var content = Text("hello, object store\n");

        var info = await Store.PutAsync(K("small.txt"), content);

        Assert.Equal(content.Length, info.Size);
        Assert.Equal(content, await Store.ReadAllBytesAsync(K("small.txt")));
    }

    [Fact]
    public async Task OpenWriteAsync_ThreeMebibytesInOddChunks_ReadsBackSameBytes()
    {
        var content = Bytes((3 << 20) + 17, seed: 3);
        var writer = await Store.OpenWriteAsync(K("big/blob.bin"));
        await using (writer)
        {
            Assert.Equal(K("big/blob.bin"), writer.Key);
            for (var offset = 0; offset < content.Length; offset += 100_003)
            {
                await writer.WriteAsync(content.AsMemory(offset, Math.Min(100_003, content.Length - offset)));
            }

            var info = await writer.CompleteAsync();
            Assert.Equal(content.Length, info.Size);
            Assert.Equal(K("big/blob.bin"), info.Key);
        }

        Assert.Equal(content.Length, (await Store.HeadAsync(K("big/blob.bin")))?.Size);
        Assert.Equal(content, await Store.ReadAllBytesAsync(K("big/blob.bin")));
    }

    [Fact]
    public async Task PutAsync_UnicodeAndPunctuationInKey_RoundTrips()
    {
        string[] names = ["a b/c d.txt", "é/ü/ß.txt", "😀/x", "a+b=c&d#f%g;h'i", "~tilde", "x/.hidden", "x/..dots", "x/...y", "x/a.b.c"];
        foreach (var name in names)
        {
            await Store.PutAsync(K(name), Text(name));
        }

        foreach (var name in names)
        {
            Assert.Equal(Text(name), await Store.ReadAllBytesAsync(K(name)));
        }

        Assert.Equal(names.Order(StringComparer.Ordinal).ToHashSet(), (await ListNamesAsync()).ToHashSet());
    }

    [Fact]
    public async Task PutAsync_KeyOfExactly1024Utf8Bytes_RoundTrips()
    {
        // Segments of at most 150 bytes, so that file systems with 255-byte names can hold it too.
        var builder = new StringBuilder(Prefix);
        var left = ObjectKey.MaxUtf8Bytes - Encoding.UTF8.GetByteCount(Prefix);
        while (left > 200)
        {
            builder.Append('k', 150).Append('/');
            left -= 151;
        }

        builder.Append('k', left);
        var key = builder.ToString();
        Assert.Equal(ObjectKey.MaxUtf8Bytes, Encoding.UTF8.GetByteCount(key));

        await Store.PutAsync(key, Text("long"));

        Assert.Equal(Text("long"), await Store.ReadAllBytesAsync(key));
        Assert.Equal([key], (await Store.ListAllAsync(Prefix)).Select(i => i.Key));
    }

    // ---------------------------------------------------------------- ranged reads

    [Fact]
    public async Task OpenReadAsync_OffsetOnly_ReadsToTheEnd()
    {
        var content = Bytes(100);
        await Store.PutAsync(K("r"), content);

        Assert.Equal(content[10..], await ReadRangeAsync(K("r"), 10, null));
    }

    [Fact]
    public async Task OpenReadAsync_OffsetAndLength_ReadsExactlyThatRange()
    {
        var content = Bytes(100);
        await Store.PutAsync(K("r"), content);

        Assert.Equal(content[10..30], await ReadRangeAsync(K("r"), 10, 20));
        Assert.Equal(content[99..], await ReadRangeAsync(K("r"), 99, 1));
        Assert.Equal(content[..1], await ReadRangeAsync(K("r"), 0, 1));
    }

    [Fact]
    public async Task OpenReadAsync_ZeroLength_ReadsNothing()
    {
        await Store.PutAsync(K("r"), Bytes(100));

        Assert.Empty(await ReadRangeAsync(K("r"), 0, 0));
        Assert.Empty(await ReadRangeAsync(K("r"), 50, 0));
        Assert.Empty(await ReadRangeAsync(K("r"), 100, 0));
        Assert.Empty(await ReadRangeAsync(K("r"), 100, null));
    }

    [Fact]
    public async Task OpenReadAsync_WholeRange_ReadsEverything()
    {
        var content = Bytes(100);
        await Store.PutAsync(K("r"), content);

        Assert.Equal(content, await ReadRangeAsync(K("r"), 0, 100));
        Assert.Equal(content, await ReadRangeAsync(K("r"), 0, null));
    }

    [Fact]
    public async Task OpenReadAsync_RangeInLargeObject_ReadsExactlyThatRange()
    {
        var content = Bytes((2 << 20) + 5, seed: 7);
        await Store.PutAsync(K("large"), content);

        Assert.Equal(content.AsSpan((1 << 20) - 3, (1 << 20) + 6).ToArray(), await ReadRangeAsync(K("large"), (1 << 20) - 3, (1 << 20) + 6));
    }

    [Theory]
    [InlineData(90L, 11L)]
    [InlineData(0L, 101L)]
    [InlineData(100L, 1L)]
    [InlineData(101L, 0L)]
    [InlineData(101L, null)]
    [InlineData(5000L, null)]
    public async Task OpenReadAsync_RangePastTheEnd_ThrowsObjectStoreExceptionNamingKey(long offset, long? length)
    {
        await Store.PutAsync(K("r"), Bytes(100));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await ReadRangeAsync(K("r"), offset, length));

        Assert.Equal(K("r"), ex.Key);
        Assert.Contains(K("r"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenReadAsync_NegativeOffsetOrLength_ThrowsArgumentOutOfRange()
    {
        await Store.PutAsync(K("r"), Bytes(10));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ReadRangeAsync(K("r"), -1, null));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ReadRangeAsync(K("r"), 0, -1));
    }

    // ---------------------------------------------------------------- missing objects

    [Fact]
    public async Task OpenReadAsync_MissingObject_ThrowsNotFoundNamingKey()
    {
        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.OpenReadAsync(K("missing")));

        Assert.Equal(K("missing"), ex.Key);
        Assert.Contains(K("missing"), ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<IOException>(ex);
    }

    [Fact]
    public async Task OpenReadAsync_MissingObjectWithRange_ThrowsNotFound()
    {
        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.OpenReadAsync(K("missing"), 10, 5));

        Assert.Contains(K("missing"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAllBytesAsync_MissingObject_ThrowsNotFoundNamingKey()
    {
        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.ReadAllBytesAsync(K("missing")));

        Assert.Contains(K("missing"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenReadAsync_KeyThatIsOnlyAPrefixOfOtherKeys_ThrowsNotFound()
    {
        await Store.PutAsync(K("folder/x"), Text("x"));

        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.OpenReadAsync(K("folder")));

        Assert.Contains(K("folder"), ex.Message, StringComparison.Ordinal);
        Assert.Null(await Store.HeadAsync(K("folder")));
    }

    [Fact]
    public async Task ComposeAsync_MissingSource_ThrowsNotFoundNamingSourceAndWritesNothing()
    {
        await Store.PutAsync(K("present"), Text("present"));

        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () =>
            await Store.ComposeAsync(K("out"), [ObjectSegment.Whole(K("present"), 7), new ObjectSegment(K("missing"), 0, 0)]));

        Assert.Equal(K("missing"), ex.Key);
        Assert.Contains(K("missing"), ex.Message, StringComparison.Ordinal);
        Assert.Null(await Store.HeadAsync(K("out")));
        Assert.Equal(["present"], await ListNamesAsync());
    }

    [Fact]
    public async Task MoveAsync_MissingSource_ThrowsNotFoundNamingSourceAndWritesNothing()
    {
        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.MoveAsync(K("missing"), K("to")));

        Assert.Equal(K("missing"), ex.Key);
        Assert.Contains(K("missing"), ex.Message, StringComparison.Ordinal);
        Assert.Null(await Store.HeadAsync(K("to")));
        Assert.Empty(await ListNamesAsync());
    }

    // ---------------------------------------------------------------- head

    [Fact]
    public async Task HeadAsync_ExistingObject_ReturnsKeyAndSize()
    {
        await Store.PutAsync(K("h/obj"), Bytes(1234));

        var info = await Store.HeadAsync(K("h/obj"));

        Assert.NotNull(info);
        Assert.Equal(K("h/obj"), info.Key);
        Assert.Equal(1234, info.Size);
        Assert.True(await Store.ExistsAsync(K("h/obj")));
    }

    [Fact]
    public async Task HeadAsync_MissingObject_ReturnsNull()
    {
        Assert.Null(await Store.HeadAsync(K("missing")));
        Assert.Null(await Store.HeadAsync(K("missing/deeper/still")));
        Assert.False(await Store.ExistsAsync(K("missing")));
    }

    // ---------------------------------------------------------------- atomic writes

    [Fact]
    public async Task OpenWriteAsync_DisposedWithoutComplete_LeavesNothingVisible()
    {
        var writer = await Store.OpenWriteAsync(K("abandoned/obj"));
        await writer.WriteAsync(Bytes(5000));
        await writer.FlushAsync();
        await writer.DisposeAsync();

        Assert.Null(await Store.HeadAsync(K("abandoned/obj")));
        Assert.Empty(await ListNamesAsync());
        await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.OpenReadAsync(K("abandoned/obj")));
    }

    [Fact]
    public async Task OpenWriteAsync_SynchronouslyDisposedWithoutComplete_LeavesNothingVisible()
    {
        var writer = await Store.OpenWriteAsync(K("abandoned"));
        await writer.WriteAsync(Bytes(100));
#pragma warning disable CA1849 // the synchronous Dispose path must discard too
        writer.Dispose();
#pragma warning restore CA1849

        Assert.Null(await Store.HeadAsync(K("abandoned")));
        Assert.Empty(await ListNamesAsync());
    }

    [Fact]
    public async Task OpenWriteAsync_DisposedWithoutCompleteOverExistingObject_KeepsOldContent()
    {
        await Store.PutAsync(K("keep"), Text("old"));

        var writer = await Store.OpenWriteAsync(K("keep"));
        await writer.WriteAsync(Text("new content that is discarded"));
        await writer.DisposeAsync();

        Assert.Equal(Text("old"), await Store.ReadAllBytesAsync(K("keep")));
        Assert.Equal(3, (await Store.HeadAsync(K("keep")))?.Size);
    }

    [Fact]
    public async Task OpenWriteAsync_InProgress_IsNeitherListedNorVisible()
    {
        await Store.PutAsync(K("other"), Text("other"));
        var writer = await Store.OpenWriteAsync(K("pending/obj"));
        await using (writer)
        {
            await writer.WriteAsync(Bytes(10_000));
            await writer.FlushAsync();

            Assert.Equal(["other"], await ListNamesAsync());
            Assert.Null(await Store.HeadAsync(K("pending/obj")));
            await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.OpenReadAsync(K("pending/obj")));

            await writer.CompleteAsync();
        }

        Assert.Equal(["other", "pending/obj"], await ListNamesAsync());
        Assert.Equal(10_000, (await Store.HeadAsync(K("pending/obj")))?.Size);
    }

    [Fact]
    public async Task CompleteAsync_ExistingObject_ReplacesItAtomically()
    {
        await Store.PutAsync(K("obj"), Text("old"));
        var replacement = Bytes(50_000, seed: 9);

        var writer = await Store.OpenWriteAsync(K("obj"));
        await using (writer)
        {
            await writer.WriteAsync(replacement.AsMemory(0, 20_000));
            await writer.FlushAsync();
            Assert.Equal(Text("old"), await Store.ReadAllBytesAsync(K("obj")));
            Assert.Equal(3, (await Store.HeadAsync(K("obj")))?.Size);

            await writer.WriteAsync(replacement.AsMemory(20_000));
            var info = await writer.CompleteAsync();
            Assert.Equal(replacement.Length, info.Size);
        }

        Assert.Equal(replacement, await Store.ReadAllBytesAsync(K("obj")));
        Assert.Equal(replacement.Length, (await Store.HeadAsync(K("obj")))?.Size);
        Assert.Equal(["obj"], await ListNamesAsync());
    }

    [Fact]
    public async Task PutAsync_ConcurrentWritersOfOneKey_LeaveExactlyOneWholeVersion()
    {
        var versions = Enumerable.Range(0, 6).Select(i => Bytes(20_000 + i, seed: 100 + i)).ToArray();

        await Task.WhenAll(versions.Select(v => Task.Run(async () => await Store.PutAsync(K("contended"), v))));

        var content = await Store.ReadAllBytesAsync(K("contended"));
        Assert.Contains(versions, v => v.AsSpan().SequenceEqual(content));
        Assert.Equal(["contended"], await ListNamesAsync());
    }

    [Fact]
    public async Task WriteAsync_AfterCompleteAsync_Throws()
    {
        var writer = await Store.OpenWriteAsync(K("done"));
        await using (writer)
        {
            await writer.WriteAsync(Text("abc"));
            await writer.CompleteAsync();

            await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await writer.WriteAsync(Text("more")));
        }

        Assert.Equal(Text("abc"), await Store.ReadAllBytesAsync(K("done")));
    }

    [Fact]
    public async Task CompleteAsync_Twice_ThrowsAndKeepsObject()
    {
        var writer = await Store.OpenWriteAsync(K("done"));
        await using (writer)
        {
            await writer.WriteAsync(Text("abc"));
            await writer.CompleteAsync();

            await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await writer.CompleteAsync());
        }

        Assert.Equal(Text("abc"), await Store.ReadAllBytesAsync(K("done")));
    }

    [Fact]
    public async Task ObjectWriteStream_IsWriteOnly()
    {
        var writer = await Store.OpenWriteAsync(K("w"));
        await using (writer)
        {
            Assert.True(writer.CanWrite);
            Assert.False(writer.CanRead);
            Assert.False(writer.CanSeek);
            Assert.Throws<NotSupportedException>(() => writer.Read(new byte[1], 0, 1));
        }
    }

    // ---------------------------------------------------------------- listing

    [Fact]
    public async Task ListAsync_MixedKeys_ListsInUtf8ByteOrder()
    {
        // Expected order by UTF-8 bytes: '-' 2D < '.' 2E < '/' 2F < '0' 30; 'B' 42 < 'a' 61; é C3A9 < U+FFFD EFBFBD < 😀 F09F9880.
        // Plain UTF-16 ordinal order would put the emoji (a surrogate pair, D83D DE00) before U+FFFD.
        string[] expected = ["B", "a-b", "a.txt", "a/b", "a0", "b", "z/\uFFFD", "z/😀", "é", "\uFFFD", "😀", "😀x"];
        foreach (var name in expected.Reverse())
        {
            await Store.PutAsync(K(name), Text(name));
        }

        var listed = await Store.ListAllAsync(Prefix);

        Assert.Equal(expected, listed.Select(i => i.Key[Prefix.Length..]));
        Assert.Equal(expected.Select(n => (long)Encoding.UTF8.GetByteCount(n)), listed.Select(i => i.Size));
    }

    [Fact]
    public async Task ListAsync_EmojiAndReplacementCharacter_EmojiSortsAfterReplacementCharacter()
    {
        await Store.PutAsync(K("😀"), Text("emoji"));
        await Store.PutAsync(K("\uFFFD"), Text("replacement"));
        await Store.PutAsync(K("\uE000"), Text("private use"));

        Assert.Equal(["\uE000", "\uFFFD", "😀"], await ListNamesAsync());
    }

    [Fact]
    public async Task ListAsync_NestedFolders_ListsEveryObjectDepthFirstInKeyOrder()
    {
        string[] expected = ["x.y", "x/1", "x/y/2", "x/y/z/3", "x/y/z/4", "x/y0", "x/yy", "x0"];
        foreach (var name in expected.Reverse())
        {
            await Store.PutAsync(K(name), Text(name));
        }

        Assert.Equal(expected, await ListNamesAsync());
        Assert.Equal(["x/1", "x/y/2", "x/y/z/3", "x/y/z/4", "x/y0", "x/yy"], await ListNamesAsync("x/"));
        Assert.Equal(["x/y/2", "x/y/z/3", "x/y/z/4", "x/y0", "x/yy"], await ListNamesAsync("x/y"));
        Assert.Equal(["x/y/2", "x/y/z/3", "x/y/z/4"], await ListNamesAsync("x/y/"));
        Assert.Equal(["x/y/z/3", "x/y/z/4"], await ListNamesAsync("x/y/z/"));
    }

    [Fact]
    public async Task ListAsync_PartialNamePrefix_MatchesObjectsAndFoldersStartingWithIt()
    {
        foreach (var name in new[] { "i", "in", "input/x", "input/y/z", "inx", "j", "other/in" })
        {
            await Store.PutAsync(K(name), Text(name));
        }

        Assert.Equal(["in", "input/x", "input/y/z", "inx"], await ListNamesAsync("in"));
        Assert.Equal(["input/x", "input/y/z"], await ListNamesAsync("inp"));
        Assert.Equal(["input/x", "input/y/z"], await ListNamesAsync("input/"));
        Assert.Equal(["other/in"], await ListNamesAsync("other/i"));
    }

    [Fact]
    public async Task ListAsync_TestPrefix_ListsEverythingUnderIt()
    {
        string[] expected = ["a", "b/c", "b/d/e", "f"];
        foreach (var name in expected)
        {
            await Store.PutAsync(K(name), Text(name));
        }

        var listed = await Store.ListAllAsync(Prefix);

        Assert.Equal(expected.Select(K), listed.Select(i => i.Key));
        Assert.All(listed, i => Assert.Equal(Encoding.UTF8.GetByteCount(i.Key[Prefix.Length..]), i.Size));
    }

    [Fact]
    public async Task ListAsync_PrefixWithoutObjects_YieldsNothing()
    {
        await Store.PutAsync(K("dir/a.txt"), Text("a"));

        Assert.Empty(await ListNamesAsync("nothing"));
        Assert.Empty(await ListNamesAsync("nothing/"));
        Assert.Empty(await ListNamesAsync("nothing/deeper/"));
        Assert.Empty(await ListNamesAsync("dir/b"));
        Assert.Empty(await ListNamesAsync("dir/a.txt/"));
        Assert.Empty(await ListNamesAsync("dir/a.txtx"));
        Assert.Empty(await Store.ListAllAsync($"contract-tests/{Guid.NewGuid():N}/"));
    }

    [Fact]
    public async Task ListAsync_ExactKeyAsPrefix_ListsThatObject()
    {
        await Store.PutAsync(K("exact"), Text("1"));
        await Store.PutAsync(K("exact2"), Text("2"));

        Assert.Equal(["exact", "exact2"], await ListNamesAsync("exact"));
    }

    [Fact]
    public async Task ListAsync_AfterDeleteAndMove_ReflectsCurrentObjects()
    {
        await Store.PutAsync(K("a/1"), Text("1"));
        await Store.PutAsync(K("a/2"), Text("2"));
        await Store.PutAsync(K("b"), Text("b"));

        await Store.DeleteAsync([K("a/1")]);
        await Store.MoveAsync(K("a/2"), K("c/2"));

        Assert.Equal(["b", "c/2"], await ListNamesAsync());
        Assert.Empty(await ListNamesAsync("a/"));
    }

    // ---------------------------------------------------------------- delete

    [Fact]
    public async Task DeleteAsync_BatchWithMissingKeys_DeletesExistingAndCountsThem()
    {
        foreach (var name in new[] { "d/1", "d/2", "d/3", "d/sub/4", "keep" })
        {
            await Store.PutAsync(K(name), Text(name));
        }

        var deleted = await Store.DeleteAsync([K("d/1"), K("missing"), K("d/2"), K("d/sub/4"), K("d/missing/x"), K("d/3")]);

        Assert.Equal(DeleteCount(existing: 4, asked: 6), deleted);
        Assert.Equal(["keep"], await ListNamesAsync());
        foreach (var name in new[] { "d/1", "d/2", "d/3", "d/sub/4" })
        {
            Assert.Null(await Store.HeadAsync(K(name)));
        }
    }

    [Fact]
    public async Task DeleteAsync_OnlyMissingKeys_ReturnsZero()
    {
        await Store.PutAsync(K("keep"), Text("keep"));

        Assert.Equal(DeleteCount(existing: 0, asked: 2), await Store.DeleteAsync([K("missing"), K("missing/too")]));
        Assert.Equal(0, await Store.DeleteAsync([]));
        Assert.Equal(["keep"], await ListNamesAsync());
    }

    [Fact]
    public async Task DeleteAsync_SameKeysTwice_SecondCallReturnsZero()
    {
        await Store.PutAsync(K("x"), Text("x"));
        await Store.PutAsync(K("y"), Text("y"));

        Assert.Equal(2, await Store.DeleteAsync([K("x"), K("y")]));
        Assert.Equal(DeleteCount(existing: 0, asked: 2), await Store.DeleteAsync([K("x"), K("y")]));
        Assert.Null(await Store.HeadAsync(K("x")));
    }

    [Fact]
    public async Task DeleteAsync_InvalidKeyAmongValidOnes_DeletesNothing()
    {
        // Regression: the folder store validated keys one by one while deleting, so the keys before an invalid
        // one were already gone when the batch was refused.
        await Store.PutAsync(K("a"), Text("a"));
        await Store.PutAsync(K("b"), Text("b"));

        await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await Store.DeleteAsync([K("a"), K("../x"), K("b")]));

        Assert.Equal(["a", "b"], await ListNamesAsync());
    }

    // ---------------------------------------------------------------- compose

    [Fact]
    public async Task ComposeAsync_WholeSources_ConcatenatesInOrder()
    {
        await Store.PutAsync(K("s/1"), Text("one,"));
        await Store.PutAsync(K("s/2"), Text("two,"));
        await Store.PutAsync(K("s/3"), Text("three"));

        var info = await Store.ComposeAsync(K("out/all"), [ObjectSegment.Whole(K("s/3"), 5), ObjectSegment.Whole(K("s/1"), 4), ObjectSegment.Whole(K("s/2"), 4)]);

        Assert.Equal(K("out/all"), info.Key);
        Assert.Equal(13, info.Size);
        Assert.Equal(13, (await Store.HeadAsync(K("out/all")))?.Size);
        Assert.Equal(Text("threeone,two,"), await Store.ReadAllBytesAsync(K("out/all")));
        Assert.Equal(Text("one,"), await Store.ReadAllBytesAsync(K("s/1")));
    }

    [Fact]
    public async Task ComposeAsync_RangesOfSources_ConcatenatesThoseRanges()
    {
        var a = Bytes(1000, seed: 1);
        var b = Bytes(500, seed: 2);
        await Store.PutAsync(K("a"), a);
        await Store.PutAsync(K("b"), b);

        var info = await Store.ComposeAsync(K("out"), [new ObjectSegment(K("a"), 100, 50), new ObjectSegment(K("b"), 499, 1), new ObjectSegment(K("a"), 0, 10), new ObjectSegment(K("b"), 500, 0)]);

        byte[] expected = [.. a[100..150], .. b[499..], .. a[..10]];
        Assert.Equal(expected.Length, info.Size);
        Assert.Equal(expected, await Store.ReadAllBytesAsync(K("out")));
    }

    [Fact]
    public async Task ComposeAsync_LargeSourceRanges_ConcatenatesThoseRanges()
    {
        var big = Bytes((3 << 20) + 11, seed: 5);
        await Store.PutAsync(K("big"), big);
        await Store.PutAsync(K("small"), Text("|"));

        var info = await Store.ComposeAsync(K("out"), [new ObjectSegment(K("big"), 1, (5 << 19) + 3), ObjectSegment.Whole(K("small"), 1), new ObjectSegment(K("big"), 3 << 20, 11)]);

        byte[] expected = [.. big.AsSpan(1, (5 << 19) + 3), .. "|"u8, .. big.AsSpan(3 << 20, 11)];
        Assert.Equal(expected.Length, info.Size);
        Assert.Equal(expected, await Store.ReadAllBytesAsync(K("out")));
    }

    [Fact]
    public async Task ComposeAsync_SameSourceTwice_RepeatsIt()
    {
        await Store.PutAsync(K("s"), Text("ab"));

        var info = await Store.ComposeAsync(K("out"), [ObjectSegment.Whole(K("s"), 2), ObjectSegment.Whole(K("s"), 2), new ObjectSegment(K("s"), 1, 1)]);

        Assert.Equal(5, info.Size);
        Assert.Equal(Text("ababb"), await Store.ReadAllBytesAsync(K("out")));
    }

    [Fact]
    public async Task ComposeAsync_NoSources_WritesEmptyObject()
    {
        var info = await Store.ComposeAsync(K("empty"), []);

        Assert.Equal(0, info.Size);
        Assert.Equal(0, (await Store.HeadAsync(K("empty")))?.Size);
        Assert.Empty(await Store.ReadAllBytesAsync(K("empty")));
    }

    [Fact]
    public async Task ComposeAsync_ExistingDestination_ReplacesIt()
    {
        await Store.PutAsync(K("out"), Bytes(5000));
        await Store.PutAsync(K("s"), Text("new"));

        var info = await Store.ComposeAsync(K("out"), [ObjectSegment.Whole(K("s"), 3)]);

        Assert.Equal(3, info.Size);
        Assert.Equal(Text("new"), await Store.ReadAllBytesAsync(K("out")));
    }

    [Fact]
    public async Task ComposeAsync_DestinationIsOneOfTheSources_UsesItsOldContent()
    {
        await Store.PutAsync(K("log"), Text("first;"));
        await Store.PutAsync(K("more"), Text("second;"));

        await Store.ComposeAsync(K("log"), [ObjectSegment.Whole(K("log"), 6), ObjectSegment.Whole(K("more"), 7)]);

        Assert.Equal(Text("first;second;"), await Store.ReadAllBytesAsync(K("log")));
    }

    [Theory]
    [InlineData(0L, 11L)]
    [InlineData(5L, 6L)]
    [InlineData(11L, 0L)]
    [InlineData(100L, 1L)]
    public async Task ComposeAsync_RangePastTheEnd_ThrowsObjectStoreExceptionAndKeepsDestination(long offset, long length)
    {
        await Store.PutAsync(K("s"), Bytes(10));
        await Store.PutAsync(K("out"), Text("old"));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
            await Store.ComposeAsync(K("out"), [ObjectSegment.Whole(K("s"), 10), new ObjectSegment(K("s"), offset, length)]));

        Assert.Equal(K("s"), ex.Key);
        Assert.Contains(K("s"), ex.Message, StringComparison.Ordinal);
        Assert.Equal(Text("old"), await Store.ReadAllBytesAsync(K("out")));
        Assert.Equal(["out", "s"], await ListNamesAsync());
    }

    [Fact]
    public async Task ComposeAsync_NegativeRange_ThrowsArgumentOutOfRange()
    {
        await Store.PutAsync(K("s"), Bytes(10));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ComposeAsync(K("out"), [new ObjectSegment(K("s"), -1, 2)]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ComposeAsync(K("out"), [new ObjectSegment(K("s"), 0, -2)]));
        Assert.Null(await Store.HeadAsync(K("out")));
    }

    // ---------------------------------------------------------------- move

    [Fact]
    public async Task MoveAsync_ExistingSource_MovesContentAndRemovesSource()
    {
        var content = Bytes(3000, seed: 4);
        await Store.PutAsync(K("from/here"), content);

        var info = await Store.MoveAsync(K("from/here"), K("to/there/obj"));

        Assert.Equal(K("to/there/obj"), info.Key);
        Assert.Equal(content.Length, info.Size);
        Assert.Null(await Store.HeadAsync(K("from/here")));
        Assert.Equal(content, await Store.ReadAllBytesAsync(K("to/there/obj")));
        Assert.Equal(["to/there/obj"], await ListNamesAsync());
    }

    [Fact]
    public async Task MoveAsync_ExistingDestination_ReplacesIt()
    {
        await Store.PutAsync(K("src"), Text("new"));
        await Store.PutAsync(K("dst"), Bytes(1000));

        var info = await Store.MoveAsync(K("src"), K("dst"));

        Assert.Equal(3, info.Size);
        Assert.Equal(Text("new"), await Store.ReadAllBytesAsync(K("dst")));
        Assert.Equal(["dst"], await ListNamesAsync());
    }

    [Fact]
    public async Task MoveAsync_SameKey_KeepsObject()
    {
        await Store.PutAsync(K("same"), Text("stay"));

        var info = await Store.MoveAsync(K("same"), K("same"));

        Assert.Equal(4, info.Size);
        Assert.Equal(Text("stay"), await Store.ReadAllBytesAsync(K("same")));
    }

    // ---------------------------------------------------------------- invalid keys

    [Fact]
    public Task HeadAsync_InvalidKey_ThrowsInvalidObjectKey() =>
        AssertRefusesAllAsync(async key => await Store.HeadAsync(key));

    [Fact]
    public Task OpenReadAsync_InvalidKey_ThrowsInvalidObjectKey() =>
        AssertRefusesAllAsync(async key => await ReadToEndAsync(await Store.OpenReadAsync(key)));

    [Fact]
    public async Task OpenWriteAsync_InvalidKey_ThrowsInvalidObjectKeyAndWritesNothing()
    {
        await AssertRefusesAllAsync(async key =>
        {
            var writer = await Store.OpenWriteAsync(key);
            await using (writer)
            {
                await writer.WriteAsync(Text("x"));
                await writer.CompleteAsync();
            }
        });

        Assert.Empty(await ListNamesAsync());
    }

    [Fact]
    public Task PutAsync_InvalidKey_ThrowsInvalidObjectKey() =>
        AssertRefusesAllAsync(async key => await Store.PutAsync(key, Text("x")));

    [Fact]
    public Task DeleteAsync_InvalidKey_ThrowsInvalidObjectKey() =>
        AssertRefusesAllAsync(async key => await Store.DeleteAsync([key]));

    [Fact]
    public async Task ComposeAsync_InvalidDestination_ThrowsInvalidObjectKey()
    {
        await Store.PutAsync(K("s"), Text("s"));

        await AssertRefusesAllAsync(async key => await Store.ComposeAsync(key, [ObjectSegment.Whole(K("s"), 1)]));

        Assert.Equal(["s"], await ListNamesAsync());
    }

    [Fact]
    public async Task ComposeAsync_InvalidSource_ThrowsInvalidObjectKeyAndWritesNothing()
    {
        await Store.PutAsync(K("s"), Text("s"));

        await AssertRefusesAllAsync(async key => await Store.ComposeAsync(K("out"), [ObjectSegment.Whole(K("s"), 1), new ObjectSegment(key, 0, 0)]));

        Assert.Equal(["s"], await ListNamesAsync());
    }

    [Fact]
    public async Task MoveAsync_InvalidSource_ThrowsInvalidObjectKey()
    {
        await AssertRefusesAllAsync(async key => await Store.MoveAsync(key, K("to")));

        Assert.Empty(await ListNamesAsync());
    }

    [Fact]
    public async Task MoveAsync_InvalidDestination_ThrowsInvalidObjectKeyAndKeepsSource()
    {
        await Store.PutAsync(K("src"), Text("src"));

        await AssertRefusesAllAsync(async key => await Store.MoveAsync(K("src"), key));

        Assert.Equal(Text("src"), await Store.ReadAllBytesAsync(K("src")));
        Assert.Equal(["src"], await ListNamesAsync());
    }

    [Fact]
    public Task GetUri_InvalidKey_ThrowsInvalidObjectKey() =>
        AssertRefusesAllAsync(key =>
        {
            Store.GetUri(key);
            return Task.CompletedTask;
        });

    [Fact]
    public async Task ListAsync_InvalidPrefix_ThrowsInvalidObjectKey()
    {
        string[] prefixes = ["../", "..", "../x", "./", ".", "a/../", "a/..", "/", "/abs", "a//", "a//b", "a\\b", "a\0", "a\u0001", "C:/", "C:", Prefix + "../", Prefix + "/", Prefix + "x/./"];
        var failures = new List<string>();
        foreach (var prefix in prefixes)
        {
            var ex = await Record.ExceptionAsync(async () =>
            {
                await foreach (var _ in Store.ListAsync(prefix))
                {
                }
            });
            if (ex is not InvalidObjectKeyException)
            {
                failures.Add($"'{Printable(prefix)}': {(ex is null ? "accepted" : ex.GetType().Name)}");
            }
        }

        Assert.True(failures.Count == 0, "not refused:\n" + string.Join('\n', failures));
    }

    [Fact]
    public async Task ListAsync_ValidPrefixes_AreAccepted()
    {
        await Store.PutAsync(K("a/b"), Text("x"));

        Assert.Single(await Store.ListAllAsync(Prefix));
        Assert.Single(await Store.ListAllAsync(Prefix + "a"));
        Assert.Single(await Store.ListAllAsync(Prefix + "a/"));
        Assert.Single(await Store.ListAllAsync(Prefix[..^1]));
    }

    // ---------------------------------------------------------------- addresses

    [Fact]
    public void Location_EndsWithSlash()
    {
        Assert.EndsWith("/", Store.Location, StringComparison.Ordinal);
        Assert.True(Uri.TryCreate(Store.Location, UriKind.Absolute, out _), Store.Location);
    }

    [Fact]
    public void GetUri_ValidKeys_StartWithLocation()
    {
        foreach (var key in new[] { K("a"), K("dir/sub/obj.txt"), K("with space/é 😀"), K("q?h#p%") })
        {
            var uri = Store.GetUri(key);

            Assert.StartsWith(Store.Location, uri, StringComparison.Ordinal);
            Assert.True(uri.Length > Store.Location.Length, uri);
            Assert.True(Uri.TryCreate(uri, UriKind.Absolute, out _), uri);
        }

        Assert.NotEqual(Store.GetUri(K("a")), Store.GetUri(K("b")));
    }
}
