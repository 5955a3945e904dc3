using System.Net;
using System.Text.Json;
using Amazon.S3.Model;

namespace Dataflow.Storage.Tests.S3;

/// <summary>
/// The upload journal: a writer that dies leaves its upload recorded, and <see cref="IObjectStore.AbortIncompleteUploadsAsync"/> aborts it
/// through the journal, without listing multipart uploads (which the OSS profile cannot do).
/// </summary>
public sealed class S3JournalTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;

    [Fact]
    public async Task AbortIncompleteUploads_CrashedWriterWithOssProfile_AbortsThroughTheJournalWithoutListingUploads()
    {
        var prefix = S3Bucket.NewPrefix("crash");

        // A writer whose abort is refused: as if its process had died, the upload and its journal entry remain.
        var blocker = new S3Recorder { Fault = c => c.Operation == "AbortMultipartUpload" ? S3Recorder.Error(HttpStatusCode.Forbidden, "AccessDenied") : null };
        var partOne = S3AbortTests.PartUploaded(blocker, 1);
        var crashed = bucket.Open(new S3Setup { Recorder = blocker }, prefix);
        await using (crashed)
        {
            var writer = await crashed.OpenWriteAsync("out/crashed.bin");
            await writer.WriteAsync(S3Test.Bytes(6 * MiB, seed: 31));
            await partOne.WaitAsync(S3Test.Hang);
            await writer.DisposeAsync();
        }

        Assert.Equal(1, blocker.Count("AbortMultipartUpload"));
        var generic = bucket.Open(new S3Setup(), prefix);
        await using var _ = generic;
        Assert.Equal([prefix + "out/crashed.bin"], await S3Test.ListUploadsAsync(generic, ""));
        Assert.Single(await S3Test.JournalAsync(generic));

        var recorder = new S3Recorder();
        var oss = bucket.Open(new S3Setup { Profile = S3Compatibility.Oss, VirtualHosted = true, Recorder = recorder }, prefix);
        await using (oss)
        {
            Assert.Equal(1, await oss.AbortIncompleteUploadsAsync("out/"));
        }

        Assert.Equal(0, recorder.Count("ListMultipartUploads"));
        Assert.Equal(1, recorder.Count("AbortMultipartUpload"));
        Assert.All(recorder.Calls, c => Assert.StartsWith($"{bucket.Name}.{S3TestServer.StorageDomain}", c.Host, StringComparison.Ordinal));
        Assert.Empty(await S3Test.ListUploadsAsync(generic, ""));
        Assert.Empty(await S3Test.JournalAsync(generic));
    }

    [Fact]
    public async Task AbortIncompleteUploads_JournalledUploadsUnderTwoPrefixes_AbortsOnlyThoseUnderThePrefix()
    {
        var prefix = S3Bucket.NewPrefix("prefixes");
        var generic = bucket.Open(new S3Setup(), prefix);
        await using var _ = generic;
        await StartUploadAsync(generic, "a/x.bin", journal: true);
        await StartUploadAsync(generic, "b/y.bin", journal: true);
        var oss = bucket.Open(new S3Setup { Profile = S3Compatibility.Oss, VirtualHosted = true }, prefix);
        await using var __ = oss;

        Assert.Equal(1, await oss.AbortIncompleteUploadsAsync("a/"));

        Assert.Equal([prefix + "b/y.bin"], await S3Test.ListUploadsAsync(generic, ""));
        var left = Assert.Single(await S3Test.JournalAsync(generic));
        Assert.Equal("b/y.bin", (await ReadEntryAsync(generic, left)).Key);

        Assert.Equal(1, await oss.AbortIncompleteUploadsAsync("b/"));
        Assert.Empty(await S3Test.ListUploadsAsync(generic, ""));
        Assert.Empty(await S3Test.JournalAsync(generic));
    }

    [Fact]
    public async Task AbortIncompleteUploads_UploadMissingFromTheJournal_FoundByListingOnlyWhereTheProfileCanList()
    {
        // A crash between starting an upload and journalling it: only ListMultipartUploads can find it.
        var prefix = S3Bucket.NewPrefix("unjournalled");
        var generic = bucket.Open(new S3Setup(), prefix);
        await using var _ = generic;
        await StartUploadAsync(generic, "lost.bin", journal: false);
        var oss = bucket.Open(new S3Setup { Profile = S3Compatibility.Oss, VirtualHosted = true }, prefix);
        await using var __ = oss;

        Assert.Equal(0, await oss.AbortIncompleteUploadsAsync(""));
        Assert.Equal([prefix + "lost.bin"], await S3Test.ListUploadsAsync(generic, ""));

        Assert.Equal(1, await generic.AbortIncompleteUploadsAsync(""));
        Assert.Empty(await S3Test.ListUploadsAsync(generic, ""));
    }

    [Fact]
    public async Task AbortIncompleteUploads_KeyTooLongToMirror_FoundInTheLongKeysFolderByItsPrefix()
    {
        // The test server cannot hold a multipart upload of a key this long (its segments' names would pass 1,024
        // bytes), so the record names an upload that does not exist: the clean-up must still find it, by its key's
        // prefix, and forget it.
        var prefix = S3Bucket.NewPrefix("long-keys");
        var store = bucket.Open(new S3Setup { Profile = S3Compatibility.Oss, VirtualHosted = true }, prefix);
        await using var _ = store;
        var longKey = "deep/" + new string('k', 950) + ".bin";
        await store.Journal.RecordAsync(longKey, "no-such-upload", CancellationToken.None);

        var entry = Assert.Single(await S3Test.JournalAsync(store, S3UploadJournal.LongKeysPrefix));
        Assert.Equal(longKey, (await ReadEntryAsync(store, entry)).Key);
        Assert.Equal(0, await store.AbortIncompleteUploadsAsync("elsewhere/"));
        Assert.Single(await S3Test.JournalAsync(store, S3UploadJournal.LongKeysPrefix));

        Assert.Equal(0, await store.AbortIncompleteUploadsAsync("deep/"));
        Assert.Empty(await S3Test.JournalAsync(store));
    }

    [Fact]
    public async Task Write_KeyOfARun_IsJournalledUnderTheMirroredKeyUntilComplete()
    {
        const string Key = "_dataflow/runs/run-7/data/part-00000.bin";
        var prefix = S3Bucket.NewPrefix("run-journal");
        var store = bucket.Open(new S3Setup(), prefix);
        await using var _ = store;
        var content = S3Test.Bytes(6 * MiB, seed: 32);

        var writer = await store.OpenWriteAsync(Key);
        await using (writer)
        {
            // Past one part, the upload has started: it is journalled before its first part goes out.
            await writer.WriteAsync(content);
            var entryKey = Assert.Single(await S3Test.JournalAsync(store, "_dataflow/uploads/_dataflow/runs/run-7/"));
            Assert.StartsWith("_dataflow/uploads/" + Key + "/", entryKey, StringComparison.Ordinal);
            Assert.Empty(await S3Test.JournalAsync(store, "_dataflow/runs/"));
            var entry = await ReadEntryAsync(store, entryKey);
            Assert.Equal(Key, entry.Key);
            Assert.Equal([prefix + Key], await S3Test.ListUploadsAsync(store, ""));
            var uploads = await store.Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = store.Bucket, Prefix = store.Full(Key) });
            Assert.Equal(uploads.MultipartUploads.Single().UploadId, entry.UploadId);

            await writer.CompleteAsync();
        }

        Assert.Empty(await S3Test.JournalAsync(store));
        Assert.Empty(await S3Test.ListUploadsAsync(store, ""));
        Assert.Equal(content, await S3Test.ReadAllAsync(store, Key));
        await store.DeleteAsync([Key]);
    }

    /// <summary>Starts a multipart upload as a writer does, optionally journalling it, and leaves it open.</summary>
    private static async Task StartUploadAsync(S3ObjectStore store, string key, bool journal)
    {
        var response = await store.Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = store.Bucket, Key = store.Full(key) });
        if (journal)
        {
            await store.Journal.RecordAsync(key, response.UploadId, CancellationToken.None);
        }
    }

    private static async Task<(string Key, string UploadId)> ReadEntryAsync(S3ObjectStore store, string entryKey)
    {
        using var json = JsonDocument.Parse(await store.ReadAllBytesAsync(entryKey));
        return (json.RootElement.GetProperty("key").GetString()!, json.RootElement.GetProperty("uploadId").GetString()!);
    }
}

/// <summary>Where the journal records an upload (no server needed).</summary>
public sealed class S3UploadJournalPrefixTests
{
    [Theory]
    [InlineData("_dataflow/runs/run-1/data/x", "_dataflow/uploads/_dataflow/runs/run-1/data/x")]
    [InlineData("_dataflow/runs/run-1/", "_dataflow/uploads/_dataflow/runs/run-1/")]
    [InlineData("out/part-0", "_dataflow/uploads/out/part-0")]
    [InlineData("", "_dataflow/uploads/")]
    public void PrefixFor_Key_MirrorsTheKeyUnderTheJournal(string key, string expected) =>
        Assert.Equal(expected, S3UploadJournal.PrefixFor(key));

    [Fact]
    public void PrefixFor_KeyTooLongToMirror_IsTheLongKeysFolder()
    {
        var longest = new string('k', ObjectKey.MaxUtf8Bytes - S3UploadJournal.Prefix.Length - 38);

        Assert.Equal(S3UploadJournal.Prefix + longest, S3UploadJournal.PrefixFor(longest));
        Assert.Equal(S3UploadJournal.LongKeysPrefix, S3UploadJournal.PrefixFor(longest + "k"));
        Assert.Equal(S3UploadJournal.LongKeysPrefix, S3UploadJournal.PrefixFor(new string('k', ObjectKey.MaxUtf8Bytes)));
    }
}
