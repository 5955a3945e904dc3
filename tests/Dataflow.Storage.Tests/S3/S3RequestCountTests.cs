namespace Dataflow.Storage.Tests.S3;

/// <summary>The S3 store's request counts (<see cref="StoreRequests"/>) against the requests the server was sent.</summary>
public sealed class S3RequestCountTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;
    private const int PartSize = 5 * MiB;

    [Fact]
    public async Task Write_MultipartObject_CountsEachUploadPartAsAPartAndEveryRequestSent()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { PartSize = PartSize, Recorder = recorder }, S3Bucket.NewPrefix("request-counts"));
        await using var _ = store;
        var content = S3Test.Bytes((16 * MiB) + 12_345, seed: 21);
        var counts = new StoreRequestCounts();
        using (StoreRequests.Begin(counts))
        {
            // The parts are uploaded by the write stream's background tasks: they count into the writer's counter.
            var writer = await store.OpenWriteAsync("big.bin");
            await using (writer)
            {
                await S3Test.WriteInChunksAsync(writer, content, [999_999]);
                await writer.CompleteAsync();
            }

            Assert.NotNull(await store.HeadAsync("big.bin"));
            Assert.Equal(content.AsMemory(PartSize, 100).ToArray(), await S3Test.ReadAllAsync(store, "big.bin", PartSize, 100));
            await foreach (var __ in store.ListAsync(""))
            {
            }

            await store.ComposeAsync("copy.bin", [ObjectSegment.Whole("big.bin", content.Length)]);
            await store.DeleteAsync(["big.bin", "copy.bin"]);
        }

        var sent = recorder.Calls;
        Assert.Equal(4, counts.Part);
        Assert.Equal(recorder.Count("UploadPart"), counts.Part);
        Assert.Equal(recorder.Count("PutObject") + recorder.Count("CreateMultipartUpload") + recorder.Count("CompleteMultipartUpload"), counts.Put);
        Assert.Equal(recorder.Count("UploadPartCopy") + recorder.Count("CopyObject"), counts.Copy);
        Assert.True(counts.Copy >= 1, $"the compose made no copy request: {counts}");
        Assert.Equal(recorder.Count("HeadObject"), counts.Head);
        Assert.Equal(recorder.Count("GetObject"), counts.Get);
        Assert.Equal(recorder.Count("ListObjectsV2"), counts.List);
        Assert.Equal(recorder.Count("DeleteObjects") + recorder.Count("DeleteObject") + recorder.Count("AbortMultipartUpload"), counts.Delete);
        Assert.True(sent.Count == counts.Total, $"the server was sent {sent.Count} requests, {counts.Total} were counted ({counts}): {string.Join("; ", sent)}");
    }
}
