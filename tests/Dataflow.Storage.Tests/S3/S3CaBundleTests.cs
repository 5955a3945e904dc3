using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Dataflow.Storage.Tests.S3;

/// <summary>
/// A private endpoint with a certificate from a private CA: the store trusts it through <see cref="S3StoreOptions.CaBundlePath"/>,
/// and refuses it without. The endpoint is a TLS terminator on loopback in front of the test server.
/// </summary>
#pragma warning disable CA1001 // xunit disposes the fixture through IAsyncLifetime.DisposeAsync.
public sealed class S3CaBundleTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "dataflow-tls-tests", Guid.NewGuid().ToString("N"));
    private TlsTerminator? _terminator;
    private string _caBundle = string.Empty;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Dataflow Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3, 4]);
        var server = X509CertificateLoader.LoadPkcs12(issued.CopyWithPrivateKey(serverKey).Export(X509ContentType.Pkcs12), null);

        _caBundle = Path.Combine(_folder, "ca.pem");
        File.WriteAllText(_caBundle, ca.ExportCertificatePem());
        _terminator = new TlsTerminator(server, S3TestServer.Endpoint);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_terminator is not null)
        {
            await _terminator.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private S3StoreOptions Options(string? caBundle) => new()
    {
        Profile = S3Compatibility.Generic,
        Endpoint = new Uri($"https://localhost:{_terminator!.Port}"),
        AccessKey = S3TestServer.AccessKey,
        SecretKey = S3TestServer.SecretKey,
        Region = "us-east-1",
        UseEnvironment = false,
        CreateBucketIfMissing = true,
        CaBundlePath = caBundle,
        MaxRequestAttempts = 1,
    };

    [Fact]
    public async Task OpenAsync_PrivateCaInTheBundle_TalksTls()
    {
        await using var store = await ObjectStore.OpenAsync("s3://dataflow-tls/ca", new ObjectStoreOptions { S3 = Options(_caBundle) });

        await store.PutAsync("hello.txt", "over TLS"u8.ToArray());

        Assert.Equal("over TLS"u8.ToArray(), await store.ReadAllBytesAsync("hello.txt"));
        Assert.True(_terminator!.Connections > 0);
        await store.DeleteAsync(["hello.txt"]);
    }

    [Fact]
    public async Task OpenAsync_PrivateCaNotTrusted_FailsWithAnError()
    {
        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => ObjectStore.OpenAsync("s3://dataflow-tls/ca", new ObjectStoreOptions { S3 = Options(null) }));

        Assert.Contains("s3://dataflow-tls/ca/", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_CaBundleMissing_ThrowsArgumentException()
    {
        var error = Assert.Throws<ArgumentException>(() => ObjectStore.Open("s3://dataflow-tls/ca", new ObjectStoreOptions { S3 = Options(Path.Combine(_folder, "none.pem")) }));

        Assert.Contains("none.pem", error.Message, StringComparison.Ordinal);
    }

#pragma warning restore CA1001

    /// <summary>Accepts TLS on loopback and relays the plain bytes to the test server, unchanged (so SigV4's signed Host header arrives as signed).</summary>
    private sealed class TlsTerminator : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private readonly Uri _target;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;
        private int _connections;

        public TlsTerminator(X509Certificate2 certificate, Uri target)
        {
            _certificate = certificate;
            _target = target;
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Connections => Volatile.Read(ref _connections);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _certificate.Dispose();
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = RelayAsync(client);
            }
        }

        private async Task RelayAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    await using var tls = new SslStream(client.GetStream());
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                    Interlocked.Increment(ref _connections);
                    using var upstream = new TcpClient();
                    await upstream.ConnectAsync(_target.Host, _target.Port, _stop.Token);
                    await using var plain = upstream.GetStream();
                    var up = tls.CopyToAsync(plain, _stop.Token);
                    var down = plain.CopyToAsync(tls, _stop.Token);
                    await Task.WhenAny(up, down);
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
                {
                    // A refused handshake (the untrusted-CA test) or a closed connection ends the relay.
                }
            }
        }
    }
}
