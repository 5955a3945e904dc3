using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dataflow.Testing;

/// <summary>What the proxy does to one request instead of (or besides) forwarding it faithfully.</summary>
public enum FaultKind
{
    /// <summary>Forwarded, and the answer passed back unchanged.</summary>
    None,

    /// <summary>Not forwarded: answered <c>503 SlowDown</c> with S3's XML error body.</summary>
    SlowDown,

    /// <summary>Not forwarded: answered <c>500 InternalError</c> with S3's XML error body.</summary>
    InternalError,

    /// <summary>Not forwarded: the connection is reset after the request was read, without an answer.</summary>
    DropRequest,

    /// <summary>Forwarded (the server acts on it), then the connection is reset instead of answering.</summary>
    DropResponse,

    /// <summary>Forwarded; the answer's headers and half its body are passed back, then the connection is reset. Becomes <see cref="DropResponse"/> when the answer has no body.</summary>
    TruncateBody,
}

/// <summary>One request as the proxy read it, for fault rules.</summary>
public sealed class ProxyRequest(string method, string target, IReadOnlyList<KeyValuePair<string, string>> headers, int bodyLength)
{
    public string Method { get; } = method;

    /// <summary>The request target exactly as sent: path and query.</summary>
    public string Target { get; } = target;

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; } = headers;

    public int BodyLength { get; } = bodyLength;

    /// <summary>The request's number in the order the proxy read them, from 1.</summary>
    public long Number { get; internal set; }

    /// <summary>How many times the proxy had seen the same <see cref="Identity"/> before.</summary>
    public int Repeat { get; internal set; }

    public string Path => Target.Split('?', 2)[0];

    public string Query => Target.Contains('?', StringComparison.Ordinal) ? Target.Split('?', 2)[1] : string.Empty;

    /// <summary>Same method, target and range: a retry of the same request has the same identity.</summary>
    public string Identity => $"{Method} {Target} {Header("Range")}";

    public bool IsUploadPart => Method == "PUT" && HasParameter("uploadId") && HasParameter("partNumber") && Header("x-amz-copy-source") is null;

    public bool IsUploadPartCopy => Method == "PUT" && HasParameter("uploadId") && HasParameter("partNumber") && Header("x-amz-copy-source") is not null;

    public bool IsInitiateUpload => Method == "POST" && HasParameter("uploads");

    public bool IsCompleteUpload => Method == "POST" && HasParameter("uploadId");

    public bool IsAbortUpload => Method == "DELETE" && HasParameter("uploadId");

    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public bool HasParameter(string name) =>
        Query.Split('&').Any(p => p == name || p.StartsWith(name + "=", StringComparison.Ordinal));

    public override string ToString() => $"#{Number} {Method} {Target}{(Header("Range") is { } range ? " " + range : "")} (repeat {Repeat})";
}

/// <summary>
/// Which faults the proxy injects. Decisions are drawn from one generator seeded with <see cref="Seed"/>, one draw per
/// request in the order requests arrive: a sequential client meets the same faults every time; concurrent requests
/// may arrive in another order, and then meet the same sequence of decisions on other requests.
/// </summary>
public sealed class FaultOptions
{
    /// <summary>No faults: every request forwarded faithfully.</summary>
    public static readonly FaultOptions None = new();

    public int Seed { get; init; } = 1;

    /// <summary>The share of eligible requests that meet a random fault, 0 to 1.</summary>
    public double Rate { get; init; }

    /// <summary>The kinds of random faults, picked with equal chance.</summary>
    public IReadOnlyList<FaultKind> Kinds { get; init; } = [FaultKind.SlowDown];

    /// <summary>Which requests may meet which random faults; default all of <see cref="Kinds"/>.</summary>
    public Func<ProxyRequest, FaultKind, bool>? Eligible { get; init; }

    /// <summary>
    /// The most random faults the same request (<see cref="ProxyRequest.Identity"/>) meets in a row: intermittent
    /// faults, which a client retrying more times than this always gets through. Default 2 (the store tries 4 times).
    /// </summary>
    public int MaxConsecutive { get; init; } = 2;

    /// <summary>The first requests the proxy sees pass untouched.</summary>
    public int FaultFreeRequests { get; init; }

    /// <summary>
    /// A fault forced on a request whatever the draw, given the request and how many times its identity was seen
    /// before; <see cref="FaultKind.None"/> to leave it to chance.
    /// </summary>
    public Func<ProxyRequest, int, FaultKind>? Rule { get; init; }
}

/// <summary>
/// An HTTP/1.1 proxy on an ephemeral loopback port that forwards every request to an S3 endpoint and its answer back,
/// and injects faults on some requests (<see cref="FaultOptions"/>): S3 error answers without forwarding, connections
/// reset before or after forwarding, and response bodies cut off mid-way.
/// </summary>
/// <remarks>
/// <para>
/// Requests are forwarded byte-faithfully where it matters for SigV4: the method, the request target exactly as sent
/// (no re-encoding), every header with its value as sent — <c>Authorization</c>, <c>x-amz-*</c>, <c>Content-MD5</c>
/// and the <c>Host</c> header too — and the body. The client signs <c>Host: 127.0.0.1:&lt;proxy port&gt;</c>; the
/// proxy passes that Host on unchanged, so the server computes the signature over the same host the client signed.
/// Swift's s3api serves path-style requests for any host outside its storage domain, so nothing is rewritten.
/// Only hop-by-hop headers are not forwarded (<c>Connection</c>, <c>Keep-Alive</c>, <c>Transfer-Encoding</c>,
/// <c>Expect</c>: the proxy answers <c>100 Continue</c> itself).
/// </para>
/// <para>Answers go back with their status, headers and body; bodies of unknown length are re-chunked.</para>
/// </remarks>
/// <remarks>One concept, kept in one file: the fault-injecting S3 proxy, with its fault kinds, options and requests.</remarks>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> s_hopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Expect", "Content-Length", "TE", "Upgrade",
    };

    private readonly TcpListener _listener;
    private readonly HttpClient _upstream;
    private readonly Uri _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, Task> _connections = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly ConcurrentQueue<ProxyRequest> _seen = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _seenByIdentity = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _faultsInARow = new(StringComparer.Ordinal);
    private readonly int[] _byKind = new int[Enum.GetValues<FaultKind>().Length];
    private readonly Task _acceptLoop;
    private FaultOptions _faults;
    private Random _random;
    private long _requests;

    /// <summary>Starts a proxy for <paramref name="target"/> (scheme, host and port; http only).</summary>
    public FaultProxy(Uri target, FaultOptions? faults = null)
    {
        _target = target;
        _faults = faults ?? FaultOptions.None;
        _random = new Random(_faults.Seed);
        _upstream = new HttpClient(
            new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                UseProxy = false,
                AutomaticDecompression = DecompressionMethods.None,
                ActivityHeadersPropagator = null,
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
            },
            disposeHandler: true)
        { Timeout = TimeSpan.FromMinutes(2) };
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Where clients send their requests.</summary>
    public Uri Endpoint { get; }

    /// <summary>Requests read from clients.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Requests that met a fault of any kind.</summary>
    public int Faults
    {
        get
        {
            lock (_gate)
            {
                return _byKind.Sum() - _byKind[(int)FaultKind.None];
            }
        }
    }

    /// <summary>The faults injected, one line each, for assertion messages.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>Requests read from clients that match <paramref name="predicate"/>.</summary>
    public int Seen(Func<ProxyRequest, bool> predicate) => _seen.Count(predicate);

    /// <summary>The requests read from clients that match <paramref name="predicate"/>, in the order they arrived.</summary>
    public List<ProxyRequest> Matching(Func<ProxyRequest, bool> predicate) => [.. _seen.Where(predicate).OrderBy(r => r.Number)];

    /// <summary>Requests that met <paramref name="kind"/> (<see cref="FaultKind.None"/>: passed untouched).</summary>
    public int Count(FaultKind kind)
    {
        lock (_gate)
        {
            return _byKind[(int)kind];
        }
    }

    /// <summary>Replaces the faults from the next request on, restarting the generator from their seed and the counts of each request's repeats.</summary>
    public void SetFaults(FaultOptions faults)
    {
        lock (_gate)
        {
            _faults = faults;
            _random = new Random(faults.Seed);
            _faultsInARow.Clear();
            _seenByIdentity.Clear();
        }
    }

    /// <summary>Counts so far, for messages.</summary>
    public string Describe()
    {
        lock (_gate)
        {
            return $"{Requests} requests; " + string.Join(", ", Enum.GetValues<FaultKind>().Select(k => $"{k} {_byKind[(int)k]}"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        var serving = _connections.ToArray();
        foreach (var (socket, _) in serving)
        {
            socket.Dispose();
        }

        // A failure the proxy did not expect surfaces here.
        await Task.WhenAll(serving.Select(c => c.Value));
        _upstream.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            socket.NoDelay = true;
            _connections[socket] = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var reset = true;
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var reader = new HeadReader(stream);
            while (!_stop.IsCancellationRequested)
            {
                var request = await ReadRequestAsync(reader, stream);
                if (request is null)
                {
                    reset = false;
                    return;
                }

                var next = await HandleAsync(request.Value.Request, request.Value.Body, request.Value.Host, stream);
                if (next != Next.Continue)
                {
                    reset = next == Next.Reset;
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException or HttpRequestException)
        {
            // The client went away, the server could not be reached (the client sees a reset), or the proxy is stopping.
        }
        finally
        {
            if (reset)
            {
                Reset(socket);
            }
            else
            {
                Close(socket);
            }
        }
    }

    /// <summary>Reads one request: head and body. Null at the end of the connection.</summary>
    private async Task<(ProxyRequest Request, byte[] Body, string Host)?> ReadRequestAsync(HeadReader reader, NetworkStream stream)
    {
        var head = await reader.ReadHeadAsync(_stop.Token);
        if (head is null)
        {
            return null;
        }

        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3)
        {
            throw new InvalidDataException($"bad request line '{lines[0]}'");
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        string? Get(string name) => headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

        if (string.Equals(Get("Expect"), "100-continue", StringComparison.OrdinalIgnoreCase))
        {
            await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), _stop.Token);
        }

        byte[] body;
        if (string.Equals(Get("Transfer-Encoding"), "chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = await reader.ReadChunkedAsync(_stop.Token);
        }
        else if (Get("Content-Length") is { } length)
        {
            body = await reader.ReadExactlyAsync(int.Parse(length, CultureInfo.InvariantCulture), _stop.Token);
        }
        else
        {
            body = [];
        }

        var request = new ProxyRequest(requestLine[0], requestLine[1], headers, body.Length) { Number = Interlocked.Increment(ref _requests) };
        _seen.Enqueue(request);
        return (request, body, Get("Host") ?? Endpoint.Authority);
    }

    /// <summary>What becomes of a connection after a request.</summary>
    private enum Next
    {
        Continue,
        Close,
        Reset,
    }

    /// <summary>Answers one request, or not (a fault); says what becomes of the connection.</summary>
    private async Task<Next> HandleAsync(ProxyRequest request, byte[] body, string host, NetworkStream stream)
    {
        var fault = Decide(request);
        switch (fault)
        {
            case FaultKind.SlowDown:
                Record(fault, request);
                await WriteErrorAsync(stream, request, 503, "Slow Down", "SlowDown", "Please reduce your request rate.");
                return Next.Continue;
            case FaultKind.InternalError:
                Record(fault, request);
                await WriteErrorAsync(stream, request, 500, "Internal Server Error", "InternalError", "We encountered an internal error. Please try again.");
                return Next.Continue;
            case FaultKind.DropRequest:
                Record(fault, request);
                return Next.Reset;
        }

        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_target.GetLeftPart(UriPartial.Authority) + request.Target));
        if (request.Header("Content-Length") is not null || body.Length > 0)
        {
            message.Content = new ByteArrayContent(body);
        }

        foreach (var (name, value) in request.Headers)
        {
            if (s_hopByHop.Contains(name))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content ??= new ByteArrayContent([]);
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        // The host the client signed: the proxy's own address.
        message.Headers.Host = host;
        using var response = await _upstream.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
        if (fault == FaultKind.DropResponse)
        {
            Record(fault, request);
            return Next.Reset;
        }

        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {(int)response.StatusCode} {response.ReasonPhrase}\r\n");
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!s_hopByHop.Contains(name))
            {
                foreach (var value in values)
                {
                    head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
                }
            }
        }

        var noBody = request.Method == "HEAD" || (int)response.StatusCode is 204 or 304 or < 200;
        var length = response.Content.Headers.ContentLength;
        if (fault == FaultKind.TruncateBody && (noBody || length is null or < 2))
        {
            Record(FaultKind.DropResponse, request);
            return Next.Reset;
        }

        if (length is { } known)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {known}\r\n");
        }
        else if (!noBody)
        {
            head.Append("Transfer-Encoding: chunked\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
        if (noBody)
        {
            Record(FaultKind.None, request);
            return Next.Continue;
        }

        await using var content = await response.Content.ReadAsStreamAsync(_stop.Token);
        if (fault == FaultKind.TruncateBody)
        {
            var half = new byte[length!.Value / 2];
            await content.ReadExactlyAsync(half, _stop.Token);
            await stream.WriteAsync(half, _stop.Token);
            await stream.FlushAsync(_stop.Token);
            Record(fault, request);
            return Next.Reset;
        }

        if (length is not null)
        {
            await content.CopyToAsync(stream, _stop.Token);
        }
        else
        {
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await content.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(n.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), _stop.Token);
                await stream.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                await stream.WriteAsync("\r\n"u8.ToArray(), _stop.Token);
            }

            await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), _stop.Token);
        }

        Record(FaultKind.None, request);
        return string.Equals(request.Header("Connection"), "close", StringComparison.OrdinalIgnoreCase) ? Next.Close : Next.Continue;
    }

    private FaultKind Decide(ProxyRequest request)
    {
        lock (_gate)
        {
            var faults = _faults;
            var seen = _seenByIdentity.GetValueOrDefault(request.Identity);
            _seenByIdentity[request.Identity] = seen + 1;
            request.Repeat = seen;

            // Always two draws per request, so that the sequence of decisions depends on the seed alone.
            var draw = _random.NextDouble();
            var kind = faults.Kinds.Count == 0 ? FaultKind.None : faults.Kinds[_random.Next(faults.Kinds.Count)];
            if (faults.Rule?.Invoke(request, seen) is { } forced and not FaultKind.None)
            {
                return forced;
            }

            var inARow = _faultsInARow.GetValueOrDefault(request.Identity);
            if (request.Number > faults.FaultFreeRequests
                && draw < faults.Rate
                && inARow < faults.MaxConsecutive
                && (faults.Eligible?.Invoke(request, kind) ?? true))
            {
                _faultsInARow[request.Identity] = inARow + 1;
                return kind;
            }

            _faultsInARow.Remove(request.Identity);
            return FaultKind.None;
        }
    }

    private void Record(FaultKind kind, ProxyRequest request)
    {
        lock (_gate)
        {
            _byKind[(int)kind]++;
        }

        if (kind != FaultKind.None)
        {
            _log.Enqueue($"{kind}: {request}");
        }
    }

    private static async Task WriteErrorAsync(NetworkStream stream, ProxyRequest request, int status, string reason, string code, string text)
    {
        var body = Encoding.UTF8.GetBytes(
            $"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{text}</Message><Resource>{SecurityElement(request.Path)}</Resource><RequestId>fault-proxy</RequestId></Error>");
        var head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nx-amz-request-id: fault-proxy\r\nContent-Length: {body.Length}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        if (request.Method != "HEAD")
        {
            await stream.WriteAsync(body);
        }
    }

    private static string SecurityElement(string text) => System.Security.SecurityElement.Escape(text);

    /// <summary>Closes gracefully: what was written is delivered first.</summary>
    private static void Close(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    /// <summary>Closes with a reset (RST), as a crashed server or a broken network would.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    /// <summary>Buffered reading of request heads and bodies from one connection.</summary>
    private sealed class HeadReader(Stream stream)
    {
        private const int MaxHead = 64 * 1024;
        private readonly byte[] _buffer = new byte[MaxHead];
        private int _start;
        private int _end;

        /// <summary>The head up to (not including) the blank line; null when the connection ends between requests.</summary>
        public async Task<string?> ReadHeadAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var found = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
                if (found >= 0)
                {
                    var head = Encoding.ASCII.GetString(_buffer, _start, found);
                    _start += found + 4;
                    return head;
                }

                if (!await FillAsync(cancellationToken))
                {
                    if (_end == _start)
                    {
                        return null;
                    }

                    throw new IOException("the connection ended inside a request head");
                }
            }
        }

        public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
        {
            var result = new byte[count];
            var buffered = Math.Min(count, _end - _start);
            _buffer.AsSpan(_start, buffered).CopyTo(result);
            _start += buffered;
            if (buffered < count)
            {
                await stream.ReadExactlyAsync(result.AsMemory(buffered), cancellationToken);
            }

            return result;
        }

        public async Task<byte[]> ReadChunkedAsync(CancellationToken cancellationToken)
        {
            using var body = new MemoryStream();
            while (true)
            {
                var line = await ReadLineAsync(cancellationToken);
                var size = int.Parse(line.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    // Trailers, up to the blank line.
                    while ((await ReadLineAsync(cancellationToken)).Length > 0)
                    {
                    }

                    return body.ToArray();
                }

                body.Write(await ReadExactlyAsync(size, cancellationToken));
                await ReadLineAsync(cancellationToken);
            }
        }

        private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var found = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
                if (found >= 0)
                {
                    var line = Encoding.ASCII.GetString(_buffer, _start, found);
                    _start += found + 2;
                    return line;
                }

                if (!await FillAsync(cancellationToken))
                {
                    throw new IOException("the connection ended inside a chunked body");
                }
            }
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new InvalidDataException("request head too large");
            }

            var n = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            _end += n;
            return n > 0;
        }
    }
}
