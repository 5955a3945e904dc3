namespace Dataflow.Storage.Tests.S3;

/// <summary>
/// Staged objects on the real S3 server: written (or composed) under their final key as a multipart upload left open,
/// invisible until published, published by completing the upload (no copy: the tag stays a multipart tag), recorded
/// in the journal under their owner until then.
/// </summary>
public sealed class S3StagingTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;

    [Fact]
    public async Task StagedWrite_AboveThePartSize_IsInvisibleUntilPublishedThenHasTheMultipartTag()
    {
        var store = bucket.Open(new S3Setup(), S3Bucket.NewPrefix("staged"));
        await using var _ = store;
        var content = S3Test.Bytes(12 * MiB + 123, seed: 7);
        Assert.True(store.CanStage);

        StagedObject staged;
        var writer = await store.OpenStagedWriteAsync("out/merged.bin", "runs/r1/staged/out/merged.bin");
        await using (writer)
        {
            await writer.WriteAsync(content);
            staged = await writer.StageAsync();
        }

        // Disposing the stream after staging discarded nothing; the object is not visible, its upload is journalled.
        Assert.Null(await store.HeadAsync("out/merged.bin"));
        Assert.Equal(3, staged.Parts.Count);
        Assert.Equal(content.Length, staged.Size);
        Assert.Single(await S3Test.JournalAsync(store, "_dataflow/uploads/runs/r1/"));

        var published = await store.PublishStagedAsync(staged);
        var again = await store.PublishStagedAsync(staged);

        var expected = S3Test.MultipartETag(content, [5 * MiB, 5 * MiB, 2 * MiB + 123]);
        Assert.Equal('"' + expected + '"', staged.PublishedETag());
        Assert.Equal(expected, S3Test.Unquote(published.ETag));
        Assert.Equal(published.ETag, again.ETag);
        Assert.Equal(content.Length, again.Size);
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "out/merged.bin"));
        Assert.Empty(await S3Test.JournalAsync(store));
        Assert.Empty(await S3Test.ListUploadsAsync(store, ""));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(0)]
    public async Task StagedWrite_SmallOrEmpty_IsOnePart(int size)
    {
        var store = bucket.Open(new S3Setup(), S3Bucket.NewPrefix("staged-small"));
        await using var _ = store;
        var content = S3Test.Bytes(size, seed: 3);
        var writer = await store.OpenStagedWriteAsync("out/small.bin", "runs/r2/staged/out/small.bin");
        await writer.WriteAsync(content);
        var staged = await writer.StageAsync();
        await writer.DisposeAsync();
        Assert.Null(await store.HeadAsync("out/small.bin"));

        var published = await store.PublishStagedAsync(staged);

        Assert.Single(staged.Parts);
        Assert.Equal(size, published.Size);
        Assert.EndsWith("-1\"", published.ETag, StringComparison.Ordinal);
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "out/small.bin"));
    }

    [Fact]
    public async Task ComposeStaged_IsInvisibleUntilPublished_AndCopiesNothingAfterwards()
    {
        var store = bucket.Open(new S3Setup(), S3Bucket.NewPrefix("staged-compose"));
        await using var _ = store;
        var a = S3Test.Bytes(6 * MiB, seed: 1);
        var b = S3Test.Bytes(7 * MiB, seed: 2);
        var small = S3Test.Bytes(100, seed: 4);
        await store.PutAsync("in/a", a);
        await store.PutAsync("in/b", b);
        await store.PutAsync("in/small", small);

        var staged = await store.ComposeStagedAsync("out/ab.bin", "runs/r3/staged/out/ab.bin", [ObjectSegment.Whole("in/a", a.Length), ObjectSegment.Whole("in/b", b.Length)]);
        var stagedSmall = await store.ComposeStagedAsync("out/small.bin", "runs/r3/staged/out/small.bin", [ObjectSegment.Whole("in/small", small.Length), new ObjectSegment("in/small", 0, 10)]);
        Assert.Null(await store.HeadAsync("out/ab.bin"));
        Assert.Null(await store.HeadAsync("out/small.bin"));

        var published = await store.PublishStagedAsync(staged);
        var publishedSmall = await store.PublishStagedAsync(stagedSmall);

        Assert.Equal(staged.PublishedETag(), published.ETag);
        Assert.Equal(2, staged.Parts.Count);
        byte[] ab = [.. a, .. b];
        Assert.Equal(ab, await S3Test.ReadAllAsync(store, "out/ab.bin"));
        Assert.Single(stagedSmall.Parts);
        Assert.Equal(110, publishedSmall.Size);
        byte[] twice = [.. small, .. small[..10]];
        Assert.Equal(twice, await S3Test.ReadAllAsync(store, "out/small.bin"));
        Assert.Empty(await S3Test.JournalAsync(store));
    }

    [Fact]
    public async Task AbortIncompleteUploads_UnderTheOwnersPrefix_DiscardsTheStagedObject_ThenPublishingSaysItIsGone()
    {
        var store = bucket.Open(new S3Setup { Profile = S3Compatibility.Oss, VirtualHosted = true }, S3Bucket.NewPrefix("staged-gone"));
        await using var _ = store;
        var writer = await store.OpenStagedWriteAsync("out/gone.bin", "runs/r4/staged/out/gone.bin");
        await writer.WriteAsync(S3Test.Bytes(6 * MiB, seed: 5));
        var staged = await writer.StageAsync();
        await writer.DisposeAsync();

        // The journal finds it under the owner (OSS cannot list uploads): a run's clean-up discards its staged outputs.
        Assert.Equal(0, await store.AbortIncompleteUploadsAsync("runs/r5/"));
        Assert.Equal(1, await store.AbortIncompleteUploadsAsync("runs/r4/"));

        var gone = await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await store.PublishStagedAsync(staged));
        Assert.Equal("out/gone.bin", gone.Key);
        Assert.Null(await store.HeadAsync("out/gone.bin"));
    }

    [Fact]
    public async Task PublishStaged_AnUploadLeftOpenAtTheKey_IsAbortedAndOthersKeysAreNot()
    {
        // An upload started at the key whose answer was lost (the retried request started the one that is staged) is
        // in no journal: publishing ends it. One at a key that only starts with the published key is left alone.
        var store = bucket.Open(new S3Setup(), S3Bucket.NewPrefix("staged-orphan"));
        await using var _ = store;
        await store.Client.InitiateMultipartUploadAsync(new Amazon.S3.Model.InitiateMultipartUploadRequest { BucketName = store.Bucket, Key = store.Full("out/y.bin") });
        await store.Client.InitiateMultipartUploadAsync(new Amazon.S3.Model.InitiateMultipartUploadRequest { BucketName = store.Bucket, Key = store.Full("out/y.bin.other") });
        var writer = await store.OpenStagedWriteAsync("out/y.bin", "runs/r7/staged/out/y.bin");
        await writer.WriteAsync(S3Test.Bytes(100, seed: 9));
        var staged = await writer.StageAsync();
        await writer.DisposeAsync();
        Assert.Equal(3, (await S3Test.ListUploadsAsync(store, "out/")).Count);

        await store.PublishStagedAsync(staged);

        Assert.Equal([store.Full("out/y.bin.other")], await S3Test.ListUploadsAsync(store, "out/"));
        Assert.Equal(S3Test.Bytes(100, seed: 9), await S3Test.ReadAllAsync(store, "out/y.bin"));
    }

    [Fact]
    public async Task PublishStaged_AnotherObjectAtTheKey_IsNotTakenForThePublishedOne()
    {
        var store = bucket.Open(new S3Setup(), S3Bucket.NewPrefix("staged-other"));
        await using var _ = store;
        var writer = await store.OpenStagedWriteAsync("out/x.bin", "runs/r6/staged/out/x.bin");
        await writer.WriteAsync(S3Test.Bytes(100, seed: 6));
        var staged = await writer.StageAsync();
        await writer.DisposeAsync();
        await store.AbortIncompleteUploadsAsync("runs/r6/");

        // Same size, other bytes, at the key: an older output, not this one published before.
        await store.PutAsync("out/x.bin", S3Test.Bytes(100, seed: 8));

        await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await store.PublishStagedAsync(staged));
    }
}
