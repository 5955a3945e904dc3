namespace Dataflow.Storage.Tests.S3;

/// <summary>Compose against the real server: large ranges are copied server-side (UploadPartCopy), small ones uploaded.</summary>
public sealed class S3ComposeTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;

    [Fact]
    public async Task Compose_TwoLargeRanges_CopiesServerSideWithoutSendingTheirBytes()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { PartSize = 16 * MiB, Recorder = recorder }, S3Bucket.NewPrefix("compose-copy"));
        await using var _ = store;
        var a = S3Test.Bytes(6 * MiB, seed: 41);
        var b = S3Test.Bytes((6 * MiB) + 3, seed: 42);
        await store.PutAsync("a.bin", a);
        await store.PutAsync("b.bin", b);
        ObjectSegment[] sources = [new("a.bin", 123, a.Length - 123), ObjectSegment.Whole("b.bin", b.Length)];
        recorder.Clear();

        var sent = store.Traffic.BytesSent;
        var info = await store.ComposeAsync("ab.bin", sources);
        var composeSent = store.Traffic.BytesSent - sent;

        Assert.Equal(sources.Sum(s => s.Length), info.Size);
        Assert.True(composeSent < MiB, $"the compose sent {composeSent} bytes for {info.Size} copied");
        Assert.Equal(2, recorder.Count("UploadPartCopy"));
        Assert.Equal(0, recorder.Count("UploadPart"));
        Assert.Equal(0, recorder.Count("GetObject"));
        Assert.EndsWith("-2", S3Test.Unquote(info.ETag), StringComparison.Ordinal);
        Assert.Null(await store.FindDifferenceAsync("ab.bin", sources));
        Assert.Empty(await S3Test.JournalAsync(store));
        await store.DeleteAsync(["a.bin", "b.bin", "ab.bin"]);
    }

    [Fact]
    public async Task Compose_LargeObjectsAndSmallPieces_ContentEqualAndLeadingLargeRangeCopied()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { PartSize = 16 * MiB, Recorder = recorder }, S3Bucket.NewPrefix("compose-mixed"));
        await using var _ = store;
        await store.PutAsync("a.bin", S3Test.Bytes(6 * MiB, seed: 43));
        await store.PutAsync("b.bin", S3Test.Bytes(6 * MiB, seed: 44));
        await store.PutAsync("small-1.bin", S3Test.Bytes(100_003, seed: 45));
        await store.PutAsync("small-2.bin", S3Test.Bytes(7, seed: 46));

        // a is copied; the short run of small pieces cannot borrow 5 MiB from b and keep b copyable, so it
        // takes b along in one uploaded part; the last small piece is the last part.
        ObjectSegment[] sources =
        [
            ObjectSegment.Whole("a.bin", 6 * MiB), ObjectSegment.Whole("small-1.bin", 100_003), new("small-2.bin", 2, 5),
            ObjectSegment.Whole("b.bin", 6 * MiB), new("small-1.bin", 10, 1_000),
        ];
        recorder.Clear();
        var sent = store.Traffic.BytesSent;
        var info = await store.ComposeAsync("mixed.bin", sources);
        var composeSent = store.Traffic.BytesSent - sent;

        Assert.Equal(sources.Sum(s => s.Length), info.Size);
        Assert.Equal(1, recorder.Count("UploadPartCopy"));
        Assert.Equal(2, recorder.Count("UploadPart"));
        Assert.InRange(composeSent, info.Size - (6 * MiB), info.Size - (6 * MiB) + MiB);
        Assert.Null(await store.FindDifferenceAsync("mixed.bin", sources));
        await store.DeleteAsync(["a.bin", "b.bin", "small-1.bin", "small-2.bin", "mixed.bin"]);
    }

    [Fact]
    public async Task Compose_ShortRunBeforeLargeRange_BorrowsTheRangesHeadAndCopiesTheRest()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { PartSize = 16 * MiB, Recorder = recorder }, S3Bucket.NewPrefix("compose-borrow"));
        await using var _ = store;
        var small = (4 * MiB) + (MiB / 2) + 11;
        await store.PutAsync("small.bin", S3Test.Bytes(small, seed: 47));
        await store.PutAsync("a.bin", S3Test.Bytes(6 * MiB, seed: 48));
        await store.PutAsync("b.bin", S3Test.Bytes((6 * MiB) + 1, seed: 49));
        ObjectSegment[] sources = [ObjectSegment.Whole("small.bin", small), ObjectSegment.Whole("a.bin", 6 * MiB), ObjectSegment.Whole("b.bin", (6 * MiB) + 1)];

        // The plan borrows the head of a.bin to bring the small run to 5 MiB: the test covers that case.
        var borrowed = S3StoreOptions.MinPartSize - small;
        var plan = S3ComposePlan.Create(sources, S3StoreOptions.MinPartSize, S3StoreOptions.MaxPartSize, 16 * MiB);
        Assert.Equal(3, plan.Count);
        Assert.Equal([ObjectSegment.Whole("small.bin", small), new ObjectSegment("a.bin", 0, borrowed)], plan[0].Pieces);
        Assert.Equal(new ObjectSegment("a.bin", borrowed, (6 * MiB) - borrowed), plan[1].Copy);

        recorder.Clear();
        var sent = store.Traffic.BytesSent;
        var info = await store.ComposeAsync("borrowed.bin", sources);
        var composeSent = store.Traffic.BytesSent - sent;

        Assert.Equal(sources.Sum(s => s.Length), info.Size);
        Assert.Equal(1, recorder.Count("UploadPart"));
        Assert.Equal(2, recorder.Count("UploadPartCopy"));
        Assert.InRange(composeSent, S3StoreOptions.MinPartSize, S3StoreOptions.MinPartSize + MiB);
        Assert.EndsWith("-3", S3Test.Unquote(info.ETag), StringComparison.Ordinal);
        Assert.Null(await store.FindDifferenceAsync("borrowed.bin", sources));
        await store.DeleteAsync(["small.bin", "a.bin", "b.bin", "borrowed.bin"]);
    }

    [Fact]
    public async Task Compose_MoreThanTenThousandParts_ThrowsNamingTheKeyBeforeAnyRequest()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { Recorder = recorder }, S3Bucket.NewPrefix("compose-limit"));
        await using var _ = store;

        // Each 5 MiB range is one copy part: 10,001 of them are one part too many.
        var sources = Enumerable.Range(0, S3StoreOptions.MaxParts + 1).Select(i => new ObjectSegment($"in/{i % 7}.bin", 0, S3StoreOptions.MinPartSize)).ToList();
        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await store.ComposeAsync("too-many.bin", sources));

        Assert.Equal("too-many.bin", ex.Key);
        Assert.Contains("'too-many.bin'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("10001 parts", ex.Message, StringComparison.Ordinal);
        Assert.Empty(recorder.Calls);
    }
}
