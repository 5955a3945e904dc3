using System.Net;
using System.Net.Sockets;
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

    public long MaxUploadMemory { get; init; } = new S3StoreOptions().MaxUploadMemory;

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

    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }

    public S3StoreOptions ToOptions() => new()
    {
        Logger = Logger,
        Profile = Profile,
        Endpoint = VirtualHosted ? new Uri($"http://{S3TestServer.StorageDomain}:{S3TestServer.Endpoint.Port}") : S3TestServer.Endpoint,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Region = "us-east-1",
        UseEnvironment = false,
        CreateBucketIfMissing = CreateBucketIfMissing,
        PartSize = PartSize,
        MaxConcurrentParts = MaxConcurrentParts,
        MaxUploadMemory = MaxUploadMemory,
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
