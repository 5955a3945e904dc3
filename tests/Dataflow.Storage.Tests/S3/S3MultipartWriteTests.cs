namespace Dataflow.Storage.Tests.S3;

/// <summary>Writes against the real server: multipart uploads of several parts, their concurrency and part buffers, single PUTs, part sizes.</summary>
public sealed class S3MultipartWriteTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;
    private const int PartSize = 5 * MiB;

    [Fact]
    public async Task Write_SixteenMiBInOddChunks_IsMultipartWithFourPartsAndReadsBackEqual()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { PartSize = PartSize, Recorder = recorder }, S3Bucket.NewPrefix("multipart"));
        await using var _ = store;
        var content = S3Test.Bytes((16 * MiB) + 12_345, seed: 11);

        var writer = await store.OpenWriteAsync("big.bin");
        ObjectInfo info;
        await using (writer)
        {
            await S3Test.WriteInChunksAsync(writer, content, [1, 65_537, 999_999, 4_096, 3_333_333]);
            info = await writer.CompleteAsync();
        }

        Assert.Equal(content.Length, info.Size);
        Assert.Equal(1, recorder.Count("CreateMultipartUpload"));
        Assert.Equal([1, 2, 3, 4], recorder.Of("UploadPart").Select(c => c.PartNumber!.Value).Order());
        Assert.Equal(1, recorder.Count("CompleteMultipartUpload"));
        Assert.Equal(1, recorder.Count("PutObject")); // the journal entry, not the object
        var expectedETag = S3Test.MultipartETag(content, [PartSize, PartSize, PartSize, content.Length - (3 * PartSize)]);
        Assert.EndsWith("-4", S3Test.Unquote(info.ETag), StringComparison.Ordinal);
        Assert.Equal(expectedETag, S3Test.Unquote(info.ETag));
        Assert.Equal(expectedETag, S3Test.Unquote((await store.HeadAsync("big.bin"))!.ETag));
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "big.bin"));
        Assert.Empty(await S3Test.JournalAsync(store));
        await store.DeleteAsync(["big.bin"]);
    }

    [Fact]
    public async Task Write_MaxConcurrentPartsTwo_NeverUploadsMoreThanTwoPartsAtOnce()
    {
        // The first part is held until a second one is in flight, so the test sees real overlap (a peak of 2) and
        // not just a writer slower than its uploads; a third part may only start when one of them has finished.
        var recorder = new S3Recorder();
        recorder.HoldUntilInFlight("UploadPart", 2);
        var store = bucket.Open(new S3Setup { PartSize = PartSize, MaxConcurrentParts = 2, Recorder = recorder }, S3Bucket.NewPrefix("concurrency"));
        await using var _ = store;
        var content = S3Test.Bytes((5 * PartSize) + 1_000, seed: 12);

        var writer = await store.OpenWriteAsync("parts.bin");
        await using (writer)
        {
            await S3Test.WriteInChunksAsync(writer, content, [777_777]);
            await writer.CompleteAsync();
        }

        Assert.Equal(6, recorder.Count("UploadPart"));
        Assert.Equal(2, recorder.Peak("UploadPart"));
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "parts.bin"));
        await store.DeleteAsync(["parts.bin"]);
    }

    [Fact]
    public async Task Write_SmallObject_IsOnePutWithoutMultipart()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { PartSize = PartSize, Recorder = recorder }, S3Bucket.NewPrefix("small"));
        await using var _ = store;
        var content = S3Test.Bytes(300_001, seed: 13);

        var info = await store.PutAsync("small.bin", content);

        Assert.Equal(["PutObject"], recorder.Calls.Select(c => c.Operation));
        Assert.Equal(1, store.Traffic.Requests);
        Assert.DoesNotContain("-", S3Test.Unquote(info.ETag), StringComparison.Ordinal);
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "small.bin"));
        await store.DeleteAsync(["small.bin"]);
    }

    [Fact]
    public async Task Write_ObjectOfExactlyOnePartSize_IsOnePutNotMultipart()
    {
        // Regression: a write that filled the first part exactly started a multipart upload at once (initiate,
        // journal entry, one part, complete, journal delete: 5 requests) although objects up to one part are one PUT.
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { PartSize = PartSize, Recorder = recorder }, S3Bucket.NewPrefix("one-part"));
        await using var _ = store;
        var content = S3Test.Bytes(PartSize, seed: 14);

        var writer = await store.OpenWriteAsync("one-part.bin");
        await using (writer)
        {
            await S3Test.WriteInChunksAsync(writer, content, [PartSize / 4]);
            await writer.CompleteAsync();
        }

        Assert.Equal(["PutObject"], recorder.Calls.Select(c => c.Operation));
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "one-part.bin"));
        await store.DeleteAsync(["one-part.bin"]);
    }

    [Fact]
    public async Task Write_ObjectOfExactlyTwoParts_IsTwoPartsWithoutAnEmptyThird()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { PartSize = PartSize, Recorder = recorder }, S3Bucket.NewPrefix("two-parts"));
        await using var _ = store;
        var content = S3Test.Bytes(2 * PartSize, seed: 15);

        var info = await store.PutAsync("two-parts.bin", content);

        Assert.Equal([1, 2], recorder.Of("UploadPart").Select(c => c.PartNumber!.Value).Order());
        Assert.Equal(S3Test.MultipartETag(content, [PartSize, PartSize]), S3Test.Unquote(info.ETag));
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "two-parts.bin"));
        await store.DeleteAsync(["two-parts.bin"]);
    }

    [Fact]
    public async Task Write_EmptyObject_IsOnePutOfZeroBytes()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { Recorder = recorder }, S3Bucket.NewPrefix("empty"));
        await using var _ = store;

        var writer = await store.OpenWriteAsync("empty.bin");
        await using (writer)
        {
            await writer.CompleteAsync();
        }

        Assert.Equal(["PutObject"], recorder.Calls.Select(c => c.Operation));
        Assert.Equal(0, (await store.HeadAsync("empty.bin"))!.Size);
        await store.DeleteAsync(["empty.bin"]);
    }

    [Fact]
    public async Task Write_AfterCompletion_ThrowsAndDoesNotChangeTheObject()
    {
        var store = bucket.Open(new S3Setup(), S3Bucket.NewPrefix("completed"));
        await using var _ = store;
        var writer = await store.OpenWriteAsync("done.bin");
        await using (writer)
        {
            await writer.WriteAsync(new byte[] { 1, 2, 3 });
            await writer.CompleteAsync();

            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await writer.WriteAsync(new byte[] { 4 }));
            Assert.Throws<ObjectDisposedException>(() => writer.Write([5], 0, 1));
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await writer.CompleteAsync());
            Assert.False(writer.CanWrite);
        }

        Assert.Equal(new byte[] { 1, 2, 3 }, await S3Test.ReadAllAsync(store, "done.bin"));
        await store.DeleteAsync(["done.bin"]);
    }

    [Fact]
    public async Task Write_MaxUploadMemoryOfTwoParts_HoldsTwoPartBuffersAndReusesThemForTheNextUpload()
    {
        // Eight upload slots, but memory for two parts: the parts are held until two are in flight, so the writer,
        // far faster than its uploads, has every chance to take a third buffer if the bound did not stop it.
        var recorder = new S3Recorder();
        recorder.HoldUntilInFlight("UploadPart", 2);
        var setup = new S3Setup { PartSize = PartSize, MaxConcurrentParts = 8, MaxUploadMemory = 2 * PartSize, Recorder = recorder };
        var store = bucket.Open(setup, S3Bucket.NewPrefix("upload-memory"));
        await using var _ = store;
        var content = S3Test.Bytes((6 * PartSize) + 4_321, seed: 31);

        foreach (var key in new[] { "first.bin", "second.bin" })
        {
            var writer = await store.OpenWriteAsync(key);
            await using (writer)
            {
                await S3Test.WriteInChunksAsync(writer, content, [1_048_577]);
                await writer.CompleteAsync();
            }
        }

        Assert.Equal(14, recorder.Count("UploadPart"));
        Assert.Equal(2, recorder.Peak("UploadPart"));
        Assert.Equal(2, store.PartBuffers.Peak);
        Assert.Equal(0, store.PartBuffers.Rented);

        // The second upload wrote into the first one's buffers.
        Assert.Equal(2, store.PartBuffers.Allocated);
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "first.bin"));
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "second.bin"));
        await store.DeleteAsync(["first.bin", "second.bin"]);
    }

    [Fact]
    public async Task Write_SmallObjects_TakeNoPartBuffer()
    {
        var store = bucket.Open(new S3Setup { PartSize = PartSize }, S3Bucket.NewPrefix("upload-memory-small"));
        await using var _ = store;
        var content = S3Test.Bytes(300_000, seed: 32);

        var writer = await store.OpenWriteAsync("small.bin");
        await using (writer)
        {
            await S3Test.WriteInChunksAsync(writer, content, [65_536]);
            await writer.CompleteAsync();
        }

        Assert.Equal(0, store.PartBuffers.Peak);
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "small.bin"));
        await store.DeleteAsync(["small.bin"]);
    }
}

/// <summary>The part sizes of long uploads (no server needed).</summary>
public sealed class S3PartSizeTests
{
    [Fact]
    public void PartSizeFor_FirstFiveHundredParts_AreTheBaseSize()
    {
        Assert.Equal(S3StoreOptions.MinPartSize, S3WriteStream.PartSizeFor(S3StoreOptions.MinPartSize, 1));
        Assert.Equal(S3StoreOptions.MinPartSize, S3WriteStream.PartSizeFor(S3StoreOptions.MinPartSize, 500));
        Assert.Equal(2 * S3StoreOptions.MinPartSize, S3WriteStream.PartSizeFor(S3StoreOptions.MinPartSize, 501));
        Assert.True(S3WriteStream.PartSizeFor(S3StoreOptions.MinPartSize, 10_000) > S3StoreOptions.MinPartSize);
    }

    [Fact]
    public void PartSizeFor_TenThousandPartsFromMinimumBase_CoverFiveTebibytes()
    {
        // Regression: doubling every 1,000 parts under the 1 GiB cap reached only 3.2 TiB in 10,000 parts of a
        // 5 MiB base (4.9 TiB of the default 16 MiB), short of S3's 5 TiB objects.
        long total = 0;
        for (var n = 1; n <= S3StoreOptions.MaxParts; n++)
        {
            total += S3WriteStream.PartSizeFor(S3StoreOptions.MinPartSize, n);
        }

        Assert.True(total >= 5L << 40, $"10,000 parts of a 5 MiB base cover {total / (double)(1L << 40):F2} TiB");
    }

    [Fact]
    public void PartSizeFor_AnyPart_NeverShrinksAndStaysWithinS3AndMemoryLimits()
    {
        foreach (var baseSize in new[] { S3StoreOptions.MinPartSize, 16L << 20, 100L << 20, int.MaxValue - 64L })
        {
            var previous = 0L;
            for (var n = 1; n <= S3StoreOptions.MaxParts; n++)
            {
                var size = S3WriteStream.PartSizeFor(baseSize, n);
                Assert.True(size >= previous, $"part {n} of base {baseSize} shrinks to {size}");
                Assert.InRange(size, S3StoreOptions.MinPartSize, Math.Min(S3StoreOptions.MaxPartSize, int.MaxValue - 64L));
                previous = size;
            }
        }
    }
}
