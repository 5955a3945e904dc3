using System.Text;
using Xunit.Abstractions;

namespace Dataflow.Storage.Tests.S3;

/// <summary>The S3 store alone, through <see cref="FaultProxy"/> in front of the real test server.</summary>
public sealed class S3StoreFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int MiB = 1 << 20;

    private readonly string _bucket = S3TestServer.NewBucket("faults-store");
    private IObjectStore _direct = null!;

    public async Task InitializeAsync() => _direct = await S3TestServer.OpenAsync(_bucket);

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_direct);
        await _direct.DisposeAsync();
    }

    [Fact]
    public async Task Proxy_NoFaults_ForwardsSignedRequestsUnchanged()
    {
        await using var proxy = new FaultProxy(S3TestServer.Endpoint);
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);

        await store.PutAsync("a/one.txt", "hello"u8.ToArray());
        var listed = await store.ListAllAsync("a/");
        var read = await store.ReadAllBytesAsync("a/one.txt");
        await store.DeleteAsync(["a/one.txt"]);

        Assert.Equal("hello", Encoding.ASCII.GetString(read));
        Assert.Equal(["a/one.txt"], listed.Select(i => i.Key));
        Assert.False(await _direct.ExistsAsync("a/one.txt"));
        Assert.True(proxy.Requests >= 5, proxy.Describe());
        Assert.Equal(0, proxy.Faults);
    }

    [Fact]
    public async Task StoreOperations_IntermittentFaults_ContentsCorrectAndNoIncompleteUploads()
    {
        // A fifth of the requests meet a fault: an S3 503 SlowDown, a connection reset before the request reaches the
        // server, a reset after the server acted on it (the answer lost), or a GET answer cut off mid-body. No request
        // meets more than two in a row, so the store's 4 attempts per request always get through. A lost answer to
        // "start a multipart upload" would leave an upload nobody knows of (see the test below): not here.
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions
        {
            Seed = 7,
            Rate = 0.2,
            Kinds = [FaultKind.SlowDown, FaultKind.DropRequest, FaultKind.DropResponse, FaultKind.TruncateBody],
            Eligible = (request, kind) => !(kind == FaultKind.DropResponse && request.IsInitiateUpload),
        });
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);

        var small = new Dictionary<string, byte[]>();
        for (var i = 0; i < 10; i++)
        {
            small[$"small/{i:D2}"] = Bytes(1000 + (i * 97), seed: i);
            await store.PutAsync($"small/{i:D2}", small[$"small/{i:D2}"]);
        }

        // 3 parts of 5 MiB, written in odd-sized chunks.
        var large = Bytes(15 * MiB, seed: 100);
        var writer = await store.OpenWriteAsync("large/fifteen");
        await using (writer)
        {
            for (var offset = 0; offset < large.Length; offset += 1_000_003)
            {
                await writer.WriteAsync(large.AsMemory(offset, Math.Min(1_000_003, large.Length - offset)));
            }

            Assert.Equal(large.Length, (await writer.CompleteAsync()).Size);
        }

        // A small piece, the large object (its head borrowed to fill a part, the rest copied server-side), a small piece.
        var composed = await store.ComposeAsync("composed/one", [
            ObjectSegment.Whole("small/00", small["small/00"].Length),
            ObjectSegment.Whole("large/fifteen", large.Length),
            ObjectSegment.Whole("small/01", small["small/01"].Length),
        ]);

        var listed = await store.ListAllAsync("small/");
        var heads = new List<ObjectInfo?>();
        foreach (var key in small.Keys)
        {
            heads.Add(await store.HeadAsync(key));
        }

        foreach (var (key, content) in small)
        {
            Assert.Equal(content, await store.ReadAllBytesAsync(key));
        }

        Assert.Equal(small.Keys.Order(), listed.Select(i => i.Key));
        Assert.Equal(small.Values.Select(v => (long)v.Length), listed.Select(i => i.Size));
        Assert.Equal(small.Values.Select(v => (long?)v.Length), heads.Select(h => h?.Size));
        Assert.Equal(large, await _direct.ReadAllBytesAsync("large/fifteen"));
        Assert.Equal(large, await store.ReadAllBytesAsync("large/fifteen"));
        byte[] expectedComposed = [.. small["small/00"], .. large, .. small["small/01"]];
        Assert.Equal(expectedComposed.Length, composed.Size);
        Assert.Equal(expectedComposed, await _direct.ReadAllBytesAsync("composed/one"));

        await store.DeleteAsync(small.Keys);
        Assert.Empty(await store.ListAllAsync("small/"));
        output.WriteLine(proxy.Describe());
        output.WriteLine(proxy.Log);

        // Checked on the server itself, not through the proxy.
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
        Assert.Empty(await _direct.ListAllAsync(ObjectKey.ReservedPrefix));
        Assert.True(proxy.Count(FaultKind.SlowDown) > 0, proxy.Describe());
        Assert.True(proxy.Count(FaultKind.DropRequest) + proxy.Count(FaultKind.DropResponse) > 0, proxy.Describe());
        Assert.True(proxy.Count(FaultKind.TruncateBody) > 0, proxy.Describe());
        Assert.True(proxy.Seen(r => r.IsUploadPart) >= 4 && proxy.Seen(r => r.IsUploadPartCopy) >= 1, "multipart upload and server-side copy were both used");
    }

    [Fact]
    public async Task AbortIncompleteUploads_InitiateAnswerLost_AbortsTheUploadNobodyRecorded()
    {
        // The server starts the upload, but its answer is lost: the store retries and starts another, and the first
        // is known to nobody — neither the writer nor the journal. Listing multipart uploads finds it.
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions { Rule = (request, seen) => request.IsInitiateUpload && seen == 0 ? FaultKind.DropResponse : FaultKind.None });
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);
        var content = Bytes(11 * MiB, seed: 3);

        await store.PutAsync("large/eleven", content);
        var orphans = await S3TestServer.IncompleteUploadsAsync(_direct);
        var aborted = await store.AbortIncompleteUploadsAsync("large/");

        Assert.Equal(content, await _direct.ReadAllBytesAsync("large/eleven"));
        Assert.Single(orphans);
        Assert.Equal(1, aborted);
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
        Assert.Equal(1, proxy.Count(FaultKind.DropResponse));
    }

    [Fact]
    public async Task OpenReadAsync_ConnectionResetMidBody_ResumesInsteadOfFailing()
    {
        // Regression: a streamed read (under the parallel-read threshold) that met a reset after the answer's headers
        // threw the raw IOException to the caller, while every other request was retried.
        var content = Bytes(3 * MiB, seed: 5);
        await _direct.PutAsync("read/three", content);
        var gets = 0;
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions
        {
            // The first GET of each read is cut off (a resumed GET asks for another range: another identity).
            Rule = (request, _) => request.Method == "GET" && request.Path.EndsWith("/read/three", StringComparison.Ordinal) && ++gets is 1 or 3
                ? FaultKind.TruncateBody
                : FaultKind.None,
        });
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);

        var whole = await store.ReadAllBytesAsync("read/three");
        var range = new byte[MiB];
        var stream = await store.OpenReadAsync("read/three", offset: MiB, length: MiB);
        await using (stream)
        {
            await stream.ReadExactlyAsync(range);
        }

        Assert.Equal(content, whole);
        Assert.Equal(content.AsSpan(MiB, MiB).ToArray(), range);
        Assert.Equal(2, proxy.Count(FaultKind.TruncateBody));
        Assert.Equal(4, gets);
    }

    [Fact]
    public async Task OpenReadAsync_ObjectReplacedBeforeResume_FailsInsteadOfMixingVersions()
    {
        var first = Bytes(2 * MiB, seed: 11);
        await _direct.PutAsync("read/replaced", first);
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions
        {
            Rule = (request, seen) => request.Method == "GET" && request.Path.EndsWith("/read/replaced", StringComparison.Ordinal) && seen == 0 ? FaultKind.TruncateBody : FaultKind.None,
        });
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);

        var stream = await store.OpenReadAsync("read/replaced");
        var head = new byte[1000];
        await stream.ReadExactlyAsync(head);
        await _direct.PutAsync("read/replaced", Bytes(2 * MiB, seed: 12));
        var rest = new MemoryStream();
        var error = await Assert.ThrowsAsync<ObjectChangedException>(async () => await stream.CopyToAsync(rest));
        await stream.DisposeAsync();

        Assert.Equal(first.AsSpan(0, head.Length).ToArray(), head);
        Assert.Contains("412", error.InnerException?.Message, StringComparison.Ordinal);
        Assert.Equal((await _direct.HeadAsync("read/replaced"))!.ETag, error.Actual);
        Assert.NotEqual(error.Expected, error.Actual);
        Assert.Equal(1, proxy.Count(FaultKind.TruncateBody));
    }

    [Fact]
    public async Task CompleteAsync_CompleteAnswerLost_WriteSucceeds()
    {
        // The server completes the upload but the answer is lost; the store asks again.
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions
        {
            Rule = (request, seen) => request.IsCompleteUpload && seen == 0 ? FaultKind.DropResponse : FaultKind.None,
        });
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);
        var content = Bytes(11 * MiB, seed: 13);

        var info = await store.PutAsync("large/completed", content);

        Assert.Equal(content.Length, info.Size);
        Assert.Equal(content, await _direct.ReadAllBytesAsync("large/completed"));
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
        Assert.Empty(await _direct.ListAllAsync(ObjectKey.ReservedPrefix));
        Assert.Equal(1, proxy.Count(FaultKind.DropResponse));
    }

    [Fact]
    public async Task OpenAsync_FirstRequestAnsweredSlowDown_RetriesInsteadOfFailing()
    {
        // Regression: opening the store asked for the bucket's location once, outside the retry policy, so one 503
        // SlowDown (or reset) on the very first request failed the open.
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions
        {
            Rule = (request, seen) => request.Method == "GET" && request.HasParameter("location") && seen < 2 ? FaultKind.SlowDown : FaultKind.None,
        });

        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);
        await store.PutAsync("opened", "yes"u8.ToArray());

        Assert.Equal("yes"u8.ToArray(), await _direct.ReadAllBytesAsync("opened"));
        Assert.Equal(2, proxy.Count(FaultKind.SlowDown));
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
