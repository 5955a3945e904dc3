using Microsoft.Extensions.Logging;
namespace Dataflow.Storage;

/// <summary>
/// How an S3 store connects and moves data. Endpoint, region and credentials default to the standard AWS variables
/// (<c>AWS_ENDPOINT_URL_S3</c>, <c>AWS_ENDPOINT_URL</c>, <c>AWS_REGION</c>, <c>AWS_ACCESS_KEY_ID</c>,
/// <c>AWS_SECRET_ACCESS_KEY</c>, <c>AWS_SESSION_TOKEN</c>, <c>AWS_PROFILE</c>, and web identity for IRSA) unless set
/// here; set <see cref="UseEnvironment"/> to <see langword="false"/> to ignore them entirely.
/// </summary>
public sealed class S3StoreOptions
{
    /// <summary>The minimum size of every part of a multipart upload but the last (the S3 rule).</summary>
    public const long MinPartSize = 5L << 20;

    /// <summary>The largest part of a multipart upload or copy.</summary>
    public const long MaxPartSize = 5L << 30;

    /// <summary>The most parts one multipart upload may have.</summary>
    public const int MaxParts = 10_000;

    /// <summary>The compatibility profile; <see langword="null"/> picks one: OSS for <c>oss://</c>, generic when an endpoint is set, AWS otherwise.</summary>
    public S3Compatibility? Profile { get; init; }

    /// <summary>The endpoint, e.g. <c>http://127.0.0.1:9000</c> or <c>https://oss-cn-hangzhou.aliyuncs.com</c>. Default: the AWS variables, else AWS itself (or OSS's endpoint for the region).</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>The region used for signing. Default: <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>, else <c>us-east-1</c>.</summary>
    public string? Region { get; init; }

    /// <summary>The access key; with <see cref="SecretKey"/>, overrides the SDK's credential chain.</summary>
    public string? AccessKey { get; init; }

    /// <summary>The secret key.</summary>
    public string? SecretKey { get; init; }

    /// <summary>A session token for temporary credentials.</summary>
    public string? SessionToken { get; init; }

    /// <summary>Read endpoint, region and credentials from the environment and AWS profiles. Default <see langword="true"/>; tests turn it off.</summary>
    public bool UseEnvironment { get; init; } = true;

    /// <summary>Force path-style (<see langword="true"/>) or virtual-hosted (<see langword="false"/>) addressing, overriding the profile.</summary>
    public bool? ForcePathStyle { get; init; }

    /// <summary>Create the bucket when it does not exist. Default <see langword="false"/>.</summary>
    public bool CreateBucketIfMissing { get; init; }

    /// <summary>
    /// The size of upload parts; objects up to this size are written with a single PUT, larger ones as multipart
    /// uploads. The part size doubles every 500 parts (up to 1 GiB), so that no upload needs more than 10,000. Default 16 MiB.
    /// </summary>
    public long PartSize { get; init; } = 16L << 20;

    /// <summary>Parts uploaded (or copied) at once by one upload or compose; an upload's memory bounds it too (<see cref="MaxUploadMemory"/>). Default 8.</summary>
    public int MaxConcurrentParts { get; init; } = 8;

    /// <summary>
    /// The memory one upload may hold in part buffers, in parts of <see cref="PartSize"/>: each buffer is either being
    /// filled by the writer or being sent (kept until the server has the part, as a failed part is sent again), so
    /// this bounds the parts in flight too, with <see cref="MaxConcurrentParts"/>. A writer that gets ahead waits for
    /// a part to be sent before it fills another buffer. Never fewer than two parts (one sent while the next is
    /// written), whatever the part size. The store keeps that many buffers for its next upload. Default 48 MiB: 3
    /// parts of 16 MiB.
    /// </summary>
    public long MaxUploadMemory { get; init; } = 48L << 20;

    /// <summary>
    /// Reads of this many bytes or more fetch several ranges at once; a read of unknown length asks for this many
    /// bytes first, and when the object is larger streams them while the ranges after them are fetched. Default 32 MiB.
    /// </summary>
    public long ParallelReadThreshold { get; init; } = 32L << 20;

    /// <summary>The size of the ranges of a parallel read. Default 8 MiB.</summary>
    public int ReadChunkSize { get; init; } = 8 << 20;

    /// <summary>Ranges fetched at once by one parallel read. Default 4.</summary>
    public int MaxConcurrentReads { get; init; } = 4;

    /// <summary>
    /// Attempts per request for transient errors (5xx, SlowDown, throttling, resets, timeouts), the first included; a
    /// read whose body is cut off resumes from where it stopped as many times in a row. Default 4; the SDK's own
    /// retries are off.
    /// </summary>
    public int MaxRequestAttempts { get; init; } = 4;

    /// <summary>The delay before the first retry of a request; doubles each time, with jitter. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Where the store logs, at Debug, each request it retries: what it was for, the object's key, the attempt and
    /// what failed. Default none; the count of retries is <see cref="IObjectStore.RetriedRequests"/> either way.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>How long one request may take. Default 5 minutes.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Connections to the endpoint at once. Default 64.</summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>Server-side encryption of written objects. Default none (the bucket's default).</summary>
    public S3Encryption Encryption { get; init; }

    /// <summary>The KMS key for <see cref="S3Encryption.Kms"/>; default: the account's.</summary>
    public string? KmsKeyId { get; init; }

    /// <summary>A PEM file of CA certificates to trust for a private endpoint (instead of the system's).</summary>
    public string? CaBundlePath { get; init; }

    /// <summary>Wraps the HTTP handler the SDK sends through, e.g. to count traffic or to route names to loopback in tests.</summary>
    public Func<HttpMessageHandler, HttpMessageHandler>? WrapHandler { get; init; }

    /// <summary>Configures the socket handler, e.g. its <c>ConnectCallback</c>.</summary>
    public Action<SocketsHttpHandler>? ConfigureSocketsHandler { get; init; }

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (PartSize < MinPartSize || PartSize > MaxPartSize)
        {
            throw new ArgumentOutOfRangeException(nameof(PartSize), PartSize, "the part size must be between 5 MiB and 1 GiB");
        }

        if (PartSize > 1L << 30)
        {
            throw new ArgumentOutOfRangeException(nameof(PartSize), PartSize, "parts are buffered in memory: the part size must be at most 1 GiB");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentParts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxUploadMemory, MinPartSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentReads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ReadChunkSize, 64 * 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(ParallelReadThreshold, ReadChunkSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1);
        if (RetryDelay < TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryDelay), "the retry delay may not be negative and the request timeout must be positive");
        }

        if ((AccessKey is null) != (SecretKey is null))
        {
            throw new ArgumentException("give both the access key and the secret key, or neither");
        }

        if (CaBundlePath is not null && !File.Exists(CaBundlePath))
        {
            throw new ArgumentException($"the CA bundle '{CaBundlePath}' does not exist");
        }
    }
}
