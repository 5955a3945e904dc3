using System.Text;

namespace Dataflow.Storage.Tests.Contract;

/// <summary>The contract of versions (entity tags, reads and composes of one version only) and of key limits.</summary>
public abstract partial class ObjectStoreContractTests
{
    /// <summary>
    /// Called after <paramref name="key"/> was rewritten (same size, other bytes) following the version
    /// <paramref name="before"/>: a store whose tags follow a clock coarser than the test (a folder's modification
    /// times) makes sure here that the rewrite is visible in the time, as a later write would be.
    /// </summary>
    protected virtual Task AfterRewriteAsync(string key, ObjectInfo before) => Task.CompletedTask;

    /// <summary>Writes <paramref name="content"/> over <paramref name="key"/> (which holds <paramref name="before"/>) and returns the new version.</summary>
    private async Task<ObjectInfo> RewriteAsync(string key, ObjectInfo before, byte[] content)
    {
        await Store.PutAsync(key, content);
        await AfterRewriteAsync(key, before);
        return (await Store.HeadAsync(key))!;
    }

    // ---------------------------------------------------------------- entity tags

    [Fact]
    public async Task ETag_EveryCallThatDescribesAnObject_GivesOneTagPerVersion()
    {
        var put = await Store.PutAsync(K("put"), Bytes(1000, seed: 1));
        var writer = await Store.OpenWriteAsync(K("written"));
        ObjectInfo written;
        await using (writer)
        {
            await writer.WriteAsync(Bytes(2000, seed: 2));
            written = await writer.CompleteAsync();
        }

        var composed = await Store.ComposeAsync(K("composed"), [ObjectSegment.Whole(K("put"), 1000), new ObjectSegment(K("written"), 10, 100)]);
        await Store.PutAsync(K("to-move"), Bytes(3000, seed: 3));
        var before = (await Store.HeadAsync(K("to-move")))!;
        var moved = await Store.MoveAsync(K("to-move"), K("moved"));

        var listed = (await Store.ListAllAsync(Prefix)).ToDictionary(i => i.Key, i => i.ETag);
        foreach (var info in new[] { put, written, composed, moved })
        {
            Assert.False(string.IsNullOrEmpty(info.ETag), $"no entity tag for '{info.Key}'");
            Assert.Equal(info.ETag, (await Store.HeadAsync(info.Key))!.ETag);
            Assert.Equal(info.ETag, listed[info.Key]);
        }

        // Another object, or other bytes, another tag.
        Assert.Equal(4, new[] { put.ETag, written.ETag, composed.ETag, moved.ETag }.Distinct().Count());
        Assert.False(string.IsNullOrEmpty(before.ETag));
    }

    [Fact]
    public async Task ETag_ObjectRewrittenWithOtherBytesOfTheSameSize_Changes()
    {
        var first = await Store.PutAsync(K("obj"), Bytes(500, seed: 1));

        var second = await RewriteAsync(K("obj"), first, Bytes(500, seed: 2));

        Assert.Equal(first.Size, second.Size);
        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal(second.ETag, (await Store.ListAllAsync(K("obj"))).Single().ETag);
    }

    // ---------------------------------------------------------------- reads of one version

    [Fact]
    public async Task OpenSegmentAsync_CurrentTag_ReadsTheRange()
    {
        var content = Bytes(1000, seed: 5);
        var info = await Store.PutAsync(K("seg"), content);

        var range = await ReadToEndAsync(await Store.OpenSegmentAsync(new ObjectSegment(K("seg"), 100, 250) { ETag = info.ETag }));
        var whole = await ReadToEndAsync(await Store.OpenSegmentAsync(ObjectSegment.Whole(K("seg"), 1000) with { ETag = info.ETag }));
        var empty = await ReadToEndAsync(await Store.OpenSegmentAsync(new ObjectSegment(K("seg"), 1000, 0) { ETag = info.ETag }));

        Assert.Equal(content[100..350], range);
        Assert.Equal(content, whole);
        Assert.Empty(empty);
    }

    [Fact]
    public async Task OpenSegmentAsync_NoTag_ReadsWhatTheObjectHoldsNow()
    {
        var first = await Store.PutAsync(K("seg"), Bytes(100, seed: 1));
        var now = Bytes(100, seed: 2);
        await RewriteAsync(K("seg"), first, now);

        Assert.Equal(now[10..20], await ReadToEndAsync(await Store.OpenSegmentAsync(new ObjectSegment(K("seg"), 10, 10))));
    }

    [Fact]
    public async Task OpenSegmentAsync_StaleTag_ThrowsObjectChangedNamingTheKey()
    {
        var first = await Store.PutAsync(K("seg"), Bytes(1000, seed: 1));
        var second = await RewriteAsync(K("seg"), first, Bytes(1000, seed: 2));

        foreach (var segment in new[] { new ObjectSegment(K("seg"), 100, 250), ObjectSegment.Whole(K("seg"), 1000), new ObjectSegment(K("seg"), 0, 0) })
        {
            var ex = await Assert.ThrowsAsync<ObjectChangedException>(async () => await ReadToEndAsync(await Store.OpenSegmentAsync(segment with { ETag = first.ETag })));

            Assert.Equal(K("seg"), ex.Key);
            Assert.Contains(K("seg"), ex.Message, StringComparison.Ordinal);
            Assert.Equal(first.ETag, ex.Expected);
            Assert.True(ex.Actual is null || ex.Actual == second.ETag, $"actual tag {ex.Actual}, the object's is {second.ETag}");
        }
    }

    [Fact]
    public async Task OpenSegmentAsync_MissingObject_ThrowsNotFound()
    {
        var info = await Store.PutAsync(K("gone"), Bytes(10));
        await Store.DeleteAsync([K("gone")]);

        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.OpenSegmentAsync(new ObjectSegment(K("gone"), 0, 5) { ETag = info.ETag }));
        await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await Store.OpenSegmentAsync(new ObjectSegment(K("never"), 0, 5)));

        Assert.Equal(K("gone"), ex.Key);
    }

    [Fact]
    public async Task OpenSegmentAsync_RangePastTheEnd_ThrowsObjectStoreException()
    {
        var info = await Store.PutAsync(K("seg"), Bytes(100));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await ReadToEndAsync(await Store.OpenSegmentAsync(new ObjectSegment(K("seg"), 90, 11) { ETag = info.ETag })));

        Assert.IsNotType<ObjectChangedException>(ex);
        Assert.Equal(K("seg"), ex.Key);
    }

    // ---------------------------------------------------------------- composes of one version

    [Fact]
    public async Task ComposeAsync_CurrentSourceTags_Composes()
    {
        var a = Bytes(700, seed: 1);
        var b = Bytes(300, seed: 2);
        var infoA = await Store.PutAsync(K("a"), a);
        var infoB = await Store.PutAsync(K("b"), b);

        var info = await Store.ComposeAsync(K("out"), [
            new ObjectSegment(K("a"), 0, 700) { ETag = infoA.ETag },
            new ObjectSegment(K("b"), 100, 200) { ETag = infoB.ETag },
            new ObjectSegment(K("a"), 700, 0) { ETag = infoA.ETag },
            new ObjectSegment(K("b"), 0, 1),
        ]);

        byte[] expected = [.. a, .. b[100..300], b[0]];
        Assert.Equal(901, info.Size);
        Assert.Equal(expected, await Store.ReadAllBytesAsync(K("out")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ComposeAsync_StaleSourceTag_ThrowsObjectChangedNamingTheSourceAndWritesNothing(int stale)
    {
        var first = await Store.PutAsync(K("a"), Bytes(700, seed: 1));
        var infoB = await Store.PutAsync(K("b"), Bytes(300, seed: 2));
        var second = await RewriteAsync(K("a"), first, Bytes(700, seed: 3));
        ObjectSegment[] sources =
        [
            new ObjectSegment(K("b"), 0, 300) { ETag = infoB.ETag },
            new ObjectSegment(K("a"), 0, 700) { ETag = stale == 0 ? first.ETag : second.ETag },
            new ObjectSegment(K("a"), 700, 0) { ETag = stale == 1 ? first.ETag : second.ETag },
            new ObjectSegment(K("a"), 5, 10) { ETag = stale == 2 ? first.ETag : second.ETag },
        ];

        var ex = await Assert.ThrowsAsync<ObjectChangedException>(async () => await Store.ComposeAsync(K("out"), sources));

        Assert.Equal(K("a"), ex.Key);
        Assert.Equal(first.ETag, ex.Expected);
        Assert.Null(await Store.HeadAsync(K("out")));
        Assert.Equal(["a", "b"], await ListNamesAsync());
    }

    // ---------------------------------------------------------------- key limits

    [Fact]
    public async Task CheckKey_KeysTheStoreCanHold_ReturnsNull()
    {
        // Names of at most 150 bytes, 1,024 bytes in all: as PutAsync_KeyOfExactly1024Utf8Bytes_RoundTrips writes.
        var builder = new StringBuilder(Prefix);
        while (Encoding.UTF8.GetByteCount(builder.ToString()) < ObjectKey.MaxUtf8Bytes - 151)
        {
            builder.Append('k', 150).Append('/');
        }

        builder.Append('k', ObjectKey.MaxUtf8Bytes - Encoding.UTF8.GetByteCount(builder.ToString()));
        foreach (var key in new[] { K("a"), K("dir/sub/é 😀.txt"), builder.ToString() })
        {
            Assert.Null(Store.CheckKey(key));
        }

        await Store.PutAsync(builder.ToString(), Text("fits"));
        Assert.Equal(Text("fits"), await Store.ReadAllBytesAsync(builder.ToString()));
    }

    [Fact]
    public void CheckKey_InvalidKeys_ReturnAReasonNamingTheKey()
    {
        foreach (var key in InvalidKeys().Where(k => k.Length > 0 && !k.Contains('\0', StringComparison.Ordinal)))
        {
            var reason = Store.CheckKey(key);

            Assert.False(string.IsNullOrEmpty(reason), $"'{Printable(key)}' accepted");
            Assert.Contains(key.Length > 40 ? key[..40] : key, reason, StringComparison.Ordinal);
        }
    }
}
