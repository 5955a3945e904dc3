using System.Text;
using Dataflow.Storage;

namespace Dataflow.Execution.Tests.Faults;

/// <summary>The S3 store alone, through <see cref="FaultProxy"/> in front of the real test server.</summary>
public sealed class S3StoreFaultTests : IAsyncLifetime
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
    public async Task AbortIncompleteUploads_InitiateAnswerLost_AbortsTheUploadNobodyRecorded()
    {
        // The server starts the upload, but its answer is lost: the store retries and starts another, and the first
        // is known to nobody — neither the writer nor the journal. Listing multipart uploads finds it.
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions { Rule = (request, seen) => request.IsInitiateUpload && seen == 0 ? FaultKind.DropResponse : FaultKind.None });
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);
        var content = Bytes(11 * MiB, seed: 3);

        await store.PutAsync("large/eleven", content);
        var orphans = await S3TestServer.IncompleteUploadsAsync(_direct);
        var aborted = await ((IIncompleteUploads)store).AbortIncompleteUploadsAsync("large/");

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
        var error = await Assert.ThrowsAsync<ObjectStoreException>(async () => await stream.CopyToAsync(rest));
        await stream.DisposeAsync();

        Assert.Equal(first.AsSpan(0, head.Length).ToArray(), head);
        Assert.Contains("412", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, proxy.Count(FaultKind.TruncateBody));
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
