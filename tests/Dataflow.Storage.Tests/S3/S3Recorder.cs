using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Dataflow.Storage.Tests.S3;

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

    /// <summary>Cancelled when the sender gives the request up (its caller cancelled it): a held request can stop waiting.</summary>
    public CancellationToken Abandoned { get; init; }

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

    /// <summary>
    /// Holds every request of <paramref name="operation"/> until <paramref name="count"/> of them are in flight at
    /// once, then lets them all go: a test sees real overlap, not a writer slower than its requests.
    /// </summary>
    public void HoldUntilInFlight(string operation, int count)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        BeforeSend = async call =>
        {
            if (call.Operation == operation)
            {
                if (InFlight(operation) >= count)
                {
                    reached.TrySetResult();
                }

                await reached.Task.WaitAsync(S3Test.Hang);
            }
        };
    }

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
                Abandoned = cancellationToken,
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
