using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3.Model;

namespace Dataflow.Storage.Tests.S3;

/// <summary>
/// One bucket of the test server per test class (a class fixture), created up front; at the end its incomplete
/// uploads are aborted, its objects deleted and the bucket removed (best effort: a failure there fails no test).
/// </summary>
public sealed class S3Bucket : IAsyncLifetime
{
    public string Name { get; } = S3TestServer.NewBucket("dataflow-s3t");

    public async Task InitializeAsync()
    {
        await using var store = await ObjectStore.OpenAsync($"s3://{Name}", new ObjectStoreOptions { S3 = S3TestServer.Options() });
    }

    public async Task DisposeAsync()
    {
        var store = Open(new S3Setup());
        await using (store)
        {
            try
            {
                await store.AbortIncompleteUploadsAsync("");
                var keys = (await store.ListAllAsync("")).Select(i => i.Key).ToList();
                if (keys.Count > 0)
                {
                    await store.DeleteAsync(keys);
                }

                await store.Client.DeleteBucketAsync(new DeleteBucketRequest { BucketName = Name });
            }
            catch (Exception ex) when (ex is ObjectStoreException or Amazon.Runtime.AmazonServiceException or HttpRequestException)
            {
                // Best effort: buckets have unique names, so a leftover disturbs no later test.
            }
        }
    }

    /// <summary>A store over this bucket, under <paramref name="prefix"/> (the bucket's root when omitted; tests pass <see cref="NewPrefix"/>).</summary>
    internal S3ObjectStore Open(S3Setup setup, string? prefix = "") =>
        (S3ObjectStore)ObjectStore.OpenS3($"s3://{Name}/{prefix}", setup.ToOptions());

    /// <summary>A prefix no other test uses, e.g. <c>multipart-1a2b3c4d/</c>.</summary>
    internal static string NewPrefix(string purpose) => $"{purpose}-{Guid.NewGuid().ToString("N")[..8]}/";
}

/// <summary>The store options of one test, as a record so that tests can vary them with <c>with</c>.</summary>
internal sealed record S3Setup
{
    public S3Compatibility Profile { get; init; } = S3Compatibility.Generic;

    /// <summary>Address buckets as <c>bucket.s3.dataflow.test</c> (the server's storage domain), routed to the test server by the socket handler.</summary>
    public bool VirtualHosted { get; init; }

    public long PartSize { get; init; } = S3StoreOptions.MinPartSize;

    public int MaxConcurrentParts { get; init; } = 8;

    public long ParallelReadThreshold { get; init; } = 32L << 20;

    public int ReadChunkSize { get; init; } = 8 << 20;

    public int MaxConcurrentReads { get; init; } = 4;

    public int MaxRequestAttempts { get; init; } = 4;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    public S3Encryption Encryption { get; init; }

    public string? KmsKeyId { get; init; }

    public string AccessKey { get; init; } = S3TestServer.AccessKey;

    public string SecretKey { get; init; } = S3TestServer.SecretKey;

    public bool CreateBucketIfMissing { get; init; }

    public S3Recorder? Recorder { get; init; }

    public S3StoreOptions ToOptions() => new()
    {
        Profile = Profile,
        Endpoint = VirtualHosted ? new Uri($"http://{S3TestServer.StorageDomain}:{S3TestServer.Endpoint.Port}") : S3TestServer.Endpoint,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Region = "us-east-1",
        UseEnvironment = false,
        CreateBucketIfMissing = CreateBucketIfMissing,
        PartSize = PartSize,
        MaxConcurrentParts = MaxConcurrentParts,
        ParallelReadThreshold = ParallelReadThreshold,
        ReadChunkSize = ReadChunkSize,
        MaxConcurrentReads = MaxConcurrentReads,
        MaxRequestAttempts = MaxRequestAttempts,
        RetryDelay = RetryDelay,
        Encryption = Encryption,
        KmsKeyId = KmsKeyId,
        WrapHandler = Recorder?.Wrap,
        ConfigureSocketsHandler = VirtualHosted ? ConnectToTestServer : null,
    };

    /// <summary>Connects every host name (e.g. <c>bucket.s3.dataflow.test</c>) to the test server's address: no DNS, no /etc/hosts.</summary>
    private static void ConnectToTestServer(SocketsHttpHandler handler)
    {
        var server = IPAddress.Parse(S3TestServer.Endpoint.Host);
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(server, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
    }
}

/// <summary>One HTTP request the SDK sent, classified as the S3 operation it is.</summary>
internal sealed class S3Call
{
    public required string Operation { get; init; }

    public required HttpMethod Method { get; init; }

    public required Uri Uri { get; init; }

    /// <summary>The Host header as sent (or the URI's authority when the SDK left it to the handler).</summary>
    public required string Host { get; init; }

    public int? PartNumber { get; init; }

    /// <summary>Request and content headers, as the SDK sent them (before the store's own handlers).</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>Answered by the test (an injected fault) rather than the server.</summary>
    public bool Injected { get; set; }

    public HttpStatusCode? Status { get; set; }

    /// <summary>DeleteObjects only: the Content-MD5 header that went to the server, and the MD5 of the body that did.</summary>
    public byte[]? ContentMd5 { get; set; }

    public byte[]? BodyMd5 { get; set; }

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public override string ToString() => $"{Operation} {Method} {Uri}{(Injected ? " (injected)" : "")} -> {Status}";
}

/// <summary>
/// A WrapHandler that records every request, can hold a request back (<see cref="BeforeSend"/>), observe its answer
/// (<see cref="AfterSend"/>) or answer it itself with a fault (<see cref="Fault"/>).
/// </summary>
internal sealed class S3Recorder
{
    private readonly ConcurrentQueue<S3Call> _calls = new();
    private readonly ConcurrentDictionary<string, int> _inFlight = new();
    private readonly ConcurrentDictionary<string, int> _peak = new();

    /// <summary>Returns a response to send instead of the server's, or null to send the request on.</summary>
    public Func<S3Call, HttpResponseMessage?>? Fault { get; set; }

    /// <summary>Runs before the request goes on (e.g. to wait for a gate).</summary>
    public Func<S3Call, Task>? BeforeSend { get; set; }

    /// <summary>Runs after the server answered.</summary>
    public Action<S3Call>? AfterSend { get; set; }

    public IReadOnlyList<S3Call> Calls => [.. _calls];

    public Func<HttpMessageHandler, HttpMessageHandler> Wrap => inner => new Handler(this) { InnerHandler = inner };

    public int Count(string operation) => _calls.Count(c => c.Operation == operation);

    public IReadOnlyList<S3Call> Of(string operation) => [.. _calls.Where(c => c.Operation == operation)];

    /// <summary>The most requests of <paramref name="operation"/> that were in flight at once.</summary>
    public int Peak(string operation) => _peak.GetValueOrDefault(operation);

    public int InFlight(string operation) => _inFlight.GetValueOrDefault(operation);

    public void Clear() => _calls.Clear();

    /// <summary>An S3 error answer, as the server would send it.</summary>
    public static HttpResponseMessage Error(HttpStatusCode status, string code) => new(status)
    {
        Content = new StringContent(
            $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test</Message><RequestId>test</RequestId></Error>",
            Encoding.UTF8,
            "application/xml"),
    };

    /// <summary>The S3 operation of a request, from its method, query and headers.</summary>
    public static string Classify(HttpRequestMessage request, string bucketPath)
    {
        var query = Query(request.RequestUri!);
        var copy = request.Headers.Contains("x-amz-copy-source");
        var method = request.Method.Method;
        return method switch
        {
            "POST" when query.ContainsKey("uploads") => "CreateMultipartUpload",
            "POST" when query.ContainsKey("uploadId") => "CompleteMultipartUpload",
            "POST" when query.ContainsKey("delete") => "DeleteObjects",
            "PUT" when query.ContainsKey("partNumber") => copy ? "UploadPartCopy" : "UploadPart",
            "PUT" when copy => "CopyObject",
            "PUT" when bucketPath.Length == 0 => "CreateBucket",
            "PUT" => "PutObject",
            "DELETE" when query.ContainsKey("uploadId") => "AbortMultipartUpload",
            "DELETE" when bucketPath.Length == 0 => "DeleteBucket",
            "DELETE" => "DeleteObject",
            "GET" when query.ContainsKey("uploads") => "ListMultipartUploads",
            "GET" when query.ContainsKey("list-type") => "ListObjectsV2",
            "GET" when query.ContainsKey("location") => "GetBucketLocation",
            "GET" when query.ContainsKey("uploadId") => "ListParts",
            "GET" => "GetObject",
            "HEAD" when bucketPath.Length == 0 => "HeadBucket",
            "HEAD" => "HeadObject",
            _ => method,
        };
    }

    public static Dictionary<string, string> Query(Uri uri)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            result[Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq])] = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
        }

        return result;
    }

    private sealed class Handler(S3Recorder recorder) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var header in request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>()))
            {
                headers[header.Key] = string.Join(",", header.Value);
            }

            var query = Query(uri);
            var call = new S3Call
            {
                Operation = Classify(request, KeyPath(uri)),
                Method = request.Method,
                Uri = uri,
                Host = request.Headers.Host ?? uri.Authority,
                PartNumber = query.TryGetValue("partNumber", out var n) ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : null,
                Headers = headers,
            };
            recorder._calls.Enqueue(call);
            var now = recorder._inFlight.AddOrUpdate(call.Operation, 1, (_, v) => v + 1);
            recorder._peak.AddOrUpdate(call.Operation, now, (_, v) => Math.Max(v, now));
            try
            {
                if (recorder.BeforeSend is { } before)
                {
                    await before(call);
                }

                if (recorder.Fault?.Invoke(call) is { } fault)
                {
                    call.Injected = true;
                    call.Status = fault.StatusCode;
                    fault.RequestMessage = request;
                    return fault;
                }

                var response = await base.SendAsync(request, cancellationToken);
                call.Status = response.StatusCode;
                if (call.Operation == "DeleteObjects" && request.Content is { } content)
                {
                    // What the store's own handlers made of the request: the body and Content-MD5 that went out.
                    call.ContentMd5 = content.Headers.ContentMD5;
#pragma warning disable CA5351 // Content-MD5 is MD5 by definition.
                    call.BodyMd5 = MD5.HashData(await content.ReadAsByteArrayAsync(cancellationToken));
#pragma warning restore CA5351
                }

                recorder.AfterSend?.Invoke(call);
                return response;
            }
            finally
            {
                recorder._inFlight.AddOrUpdate(call.Operation, 0, (_, v) => v - 1);
            }
        }

        // Path-style "/bucket/key" or virtual-hosted "/key": what follows the bucket, empty for bucket requests.
        private static string KeyPath(Uri uri)
        {
            var path = uri.AbsolutePath.TrimStart('/');
            var virtualHosted = !IPAddress.TryParse(uri.Host, out _) && uri.Host.Contains('.', StringComparison.Ordinal)
                                && uri.Host.EndsWith(S3TestServer.StorageDomain, StringComparison.OrdinalIgnoreCase)
                                && uri.Host.Length > S3TestServer.StorageDomain.Length;
            if (virtualHosted)
            {
                return path;
            }

            var slash = path.IndexOf('/', StringComparison.Ordinal);
            return slash < 0 ? "" : path[(slash + 1)..];
        }
    }
}

/// <summary>Data and assertions the S3 tests share.</summary>
internal static class S3Test
{
    /// <summary>Guards awaits that only a bug could make hang (a gate never opened); not a timing assertion.</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(120);

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The ETag S3 gives a multipart object: the MD5 of the parts' MD5s, then "-" and the part count.</summary>
    public static string MultipartETag(byte[] content, IReadOnlyList<int> partSizes)
    {
        using var all = new MemoryStream();
        var offset = 0;
        foreach (var size in partSizes)
        {
#pragma warning disable CA5351 // S3's ETags are MD5 by definition.
            all.Write(MD5.HashData(content.AsSpan(offset, size)));
#pragma warning restore CA5351
            offset += size;
        }

        Assert.Equal(content.Length, offset);
#pragma warning disable CA5351
        return $"{Convert.ToHexStringLower(MD5.HashData(all.ToArray()))}-{partSizes.Count}";
#pragma warning restore CA5351
    }

    public static string Unquote(string? etag) => (etag ?? "").Trim('"');

    public static async Task<byte[]> ReadAllAsync(IObjectStore store, string key, long offset = 0, long? length = null, int bufferSize = 81_920)
    {
        var stream = await store.OpenReadAsync(key, offset, length);
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, bufferSize);
            return copy.ToArray();
        }
    }

    /// <summary>Writes <paramref name="content"/> in chunks of the sizes given, cycling through them.</summary>
    public static async Task WriteInChunksAsync(ObjectWriteStream writer, byte[] content, int[] chunkSizes, CancellationToken cancellationToken = default)
    {
        var offset = 0;
        for (var i = 0; offset < content.Length; i++)
        {
            var n = Math.Min(chunkSizes[i % chunkSizes.Length], content.Length - offset);
            await writer.WriteAsync(content.AsMemory(offset, n), cancellationToken);
            offset += n;
        }
    }

    /// <summary>The multipart uploads the server still has under <paramref name="keyPrefix"/> (store key prefix), as keys of the bucket.</summary>
    public static async Task<List<string>> ListUploadsAsync(S3ObjectStore store, string keyPrefix)
    {
        var response = await store.Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = store.Bucket, Prefix = store.Full(keyPrefix) });
        return (response.MultipartUploads ?? []).Select(u => u.Key).ToList();
    }

    /// <summary>The journal entries of uploads (of keys outside runs).</summary>
    public static async Task<List<string>> JournalAsync(IObjectStore store, string journalPrefix = "_dataflow/uploads/") =>
        (await store.ListAllAsync(journalPrefix)).Select(i => i.Key).ToList();
}

/// <summary>s3cmd, another S3 client, pointed at the test server (path style, no TLS, its own credentials).</summary>
internal static class S3Cmd
{
    public static async Task<string> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("s3cmd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var endpoint = S3TestServer.Endpoint.Authority;
        foreach (var argument in (string[])
                 [
                     "--config=/dev/null", $"--access_key={S3TestServer.AccessKey}", $"--secret_key={S3TestServer.SecretKey}",
                     $"--host={endpoint}", $"--host-bucket={endpoint}", "--no-ssl", "--region=us-east-1", "--no-progress",
                     .. arguments,
                 ])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start s3cmd");
        using var guard = new CancellationTokenSource(S3Test.Hang);
        var output = process.StandardOutput.ReadToEndAsync(guard.Token);
        var error = process.StandardError.ReadToEndAsync(guard.Token);
        await process.WaitForExitAsync(guard.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"s3cmd {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
        }

        return await output;
    }
}
