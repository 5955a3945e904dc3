using System.Net;
using System.Text;

namespace Dataflow.Storage.Tests.S3;

/// <summary>Listing past one page of 1,000 keys and deleting in batches of 1,000, against the real server (the one slow S3 test).</summary>
public sealed class S3ListingTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int Count = 1_050;

    // Orders that differ between naive and byte-wise sorting: '-' < '.' < '/' < 'A' < 'a' < 'é' (0xC3 0xA9 in UTF-8),
    // and unpadded numbers ("10" before "9").
    private static readonly string[] s_prefixes = ["a/", "a-", "a.", "A/", "é/", "z/"];

    [Fact]
    public async Task ListAndDelete_MoreThanOnePageOfKeys_ListsInKeyOrderAndDeletesInBatchesWithContentMd5()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { Recorder = recorder }, S3Bucket.NewPrefix("listing"));
        await using var _ = store;
        var keys = Enumerable.Range(0, Count).Select(i => $"{s_prefixes[i % s_prefixes.Length]}{i * 7919 % 10_007}").ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) =>
            await store.PutAsync(key, Encoding.UTF8.GetBytes(key), token));

        recorder.Clear();
        var listed = await store.ListAllAsync("");

        Assert.Equal(keys.Order(StringComparer.Ordinal), listed.Select(i => i.Key));
        Assert.All(listed, i => Assert.Equal(Encoding.UTF8.GetByteCount(i.Key), i.Size));
        Assert.Equal(2, recorder.Count("ListObjectsV2"));
        Assert.Equal(keys.Where(k => k.StartsWith("a/", StringComparison.Ordinal)).Order(StringComparer.Ordinal), (await store.ListAllAsync("a/")).Select(i => i.Key));

        recorder.Clear();
        Assert.Equal(Count, await store.DeleteAsync(keys));

        // 1,000 keys and then 50; each request with the Content-MD5 of its body, which Swift insists on.
        var deletes = recorder.Of("DeleteObjects");
        Assert.Equal(2, deletes.Count);
        Assert.All(deletes, d =>
        {
            Assert.Equal(HttpStatusCode.OK, d.Status);
            Assert.NotNull(d.ContentMd5);
            Assert.Equal(d.BodyMd5, d.ContentMd5);
        });
        Assert.Empty(await store.ListAllAsync(""));
    }
}
