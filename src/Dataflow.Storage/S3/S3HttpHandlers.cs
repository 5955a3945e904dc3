using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;

namespace Dataflow.Storage;

/// <summary>Bytes that went over the wire, both ways, as the HTTP handler saw them.</summary>
internal sealed class S3Traffic
{
    private long _sent;
    private long _received;
    private long _requests;

    public long BytesSent => Interlocked.Read(ref _sent);

    public long BytesReceived => Interlocked.Read(ref _received);

    public long Requests => Interlocked.Read(ref _requests);

    public void Sent(long bytes) => Interlocked.Add(ref _sent, bytes);

    public void Received(long bytes) => Interlocked.Add(ref _received, bytes);

    public void Request() => Interlocked.Increment(ref _requests);
}

/// <summary>
/// The HTTP client the SDK sends through: one pooled socket handler per store, with the store's CA bundle, the
/// Content-MD5 header DeleteObjects needs on strict servers, and traffic counting.
/// </summary>
internal sealed class S3HttpClientFactory : HttpClientFactory, IDisposable
{
    private readonly HttpClient _client;

    public S3HttpClientFactory(S3StoreOptions options, S3ProfileSettings profile, S3Traffic traffic)
    {
        var sockets = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.MaxConnections,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        };

        if (options.CaBundlePath is { } bundle)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(bundle);
            sockets.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => ValidateAgainst(roots, certificate, errors);
        }

        options.ConfigureSocketsHandler?.Invoke(sockets);
        HttpMessageHandler handler = new CountingHandler(traffic) { InnerHandler = sockets };
        if (profile.ContentMd5OnDelete)
        {
            handler = new ContentMd5OnDeleteHandler { InnerHandler = handler };
        }

        if (options.WrapHandler is { } wrap)
        {
            handler = wrap(handler);
        }

        _client = new HttpClient(handler, disposeHandler: true) { Timeout = options.RequestTimeout };
    }

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) => _client;

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    public void Dispose() => _client.Dispose();

    private static bool ValidateAgainst(X509Certificate2Collection roots, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    /// <summary>Adds Content-MD5 to DeleteObjects (<c>POST ?delete</c>): OpenStack Swift and OSS require it; AWSSDK v4 sends only a CRC32 checksum.</summary>
    private sealed class ContentMd5OnDeleteHandler : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Post
                && request.RequestUri?.Query is { } query
                && (query == "?delete" || query.StartsWith("?delete&", StringComparison.Ordinal) || query.Contains("&delete", StringComparison.Ordinal))
                && request.Content is { } content
                && content.Headers.ContentMD5 is null)
            {
                var body = await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                var replacement = new ByteArrayContent(body);
                foreach (var header in content.Headers)
                {
                    replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }

#pragma warning disable CA5351 // S3's Content-MD5 header is MD5 by definition; it guards integrity, not secrets.
                replacement.Headers.ContentMD5 = MD5.HashData(body);
#pragma warning restore CA5351
                request.Content = replacement;
            }

            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Counts request and response body bytes.</summary>
    private sealed class CountingHandler(S3Traffic traffic) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            traffic.Request();
            StoreRequests.Count(S3RequestKinds.Of(request));
            if (request.Content?.Headers.ContentLength is { } sent)
            {
                traffic.Sent(sent);
            }

            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.Content is { } content)
            {
                response.Content = new CountingContent(content, traffic);
            }

            return response;
        }
    }

    private sealed class CountingContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly S3Traffic _traffic;

        public CountingContent(HttpContent inner, S3Traffic traffic)
        {
            _inner = inner;
            _traffic = traffic;

            // The SDK reads Content-Length, Content-Range, ETag and the like from here.
            foreach (var header in _inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            await _inner.CopyToAsync(stream).ConfigureAwait(false);

        protected override async Task<Stream> CreateContentReadStreamAsync() =>
            new CountingStream(await _inner.ReadAsStreamAsync().ConfigureAwait(false), _traffic);

        protected override bool TryComputeLength(out long length)
        {
            length = _inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class CountingStream(Stream inner, S3Traffic traffic) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            traffic.Received(n);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            traffic.Received(n);
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
