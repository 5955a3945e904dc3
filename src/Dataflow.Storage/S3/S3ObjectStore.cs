using System.Globalization;
using System.Runtime.CompilerServices;
using Amazon.S3;
using Amazon.S3.Model;
using Dataflow.Core;
using Microsoft.Extensions.Logging;
using Polly;

namespace Dataflow.Storage;

/// <summary>
/// An S3 bucket prefix as an object store, through AWSSDK.S3 with the settings of a compatibility profile. Large
/// writes are multipart uploads of parallel parts from pooled buffers; large reads fetch ranges in parallel;
/// compose copies server-side (UploadPartCopy) where the pieces allow it. Every request goes through the retry
/// policy of <see cref="S3Errors"/>, and errors name the bucket and key.
/// </summary>
internal sealed partial class S3ObjectStore : IObjectStore
{
    private readonly S3Address _address;
    private readonly S3HttpClientFactory _http;
    private readonly ResiliencePipeline _pipeline;
    private readonly string[] _secrets;
    private long _retried;

    public S3ObjectStore(S3Address address, S3StoreOptions options)
    {
        options.Validate();
        _address = address;
        Options = options;
        Profile = S3ProfileSettings.For(options.Profile ?? DefaultProfile(address, options));
        _http = new S3HttpClientFactory(options, Profile, Traffic);
        Client = CreateClient(address, options, Profile, _http);
        _pipeline = S3Errors.CreatePipeline(options, (request, attempt, error) => CountRetry(request.Action, request.Key, attempt, error));
        Journal = new S3UploadJournal(this);
        PartBuffers = new S3PartBuffers(options);
        _secrets = new[]
            {
                options.AccessKey, options.SecretKey, options.SessionToken,
                options.UseEnvironment ? Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") : null,
                options.UseEnvironment ? Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY") : null,
                options.UseEnvironment ? Environment.GetEnvironmentVariable("AWS_SESSION_TOKEN") : null,
            }
            .Where(s => s is { Length: >= 4 })
            .Select(s => s!)
            .Distinct(StringComparer.Ordinal)
            .ToArray();
    }

    public string Location => _address.ToString();

    public string Bucket => _address.Bucket;

    public S3StoreOptions Options { get; }

    public S3ProfileSettings Profile { get; }

    /// <summary>Bytes over the wire, for tests and benchmarks.</summary>
    public S3Traffic Traffic { get; } = new();

    internal AmazonS3Client Client { get; }

    internal S3UploadJournal Journal { get; }

    /// <summary>The buffers of multipart uploads' parts, reused from one upload to the next.</summary>
    internal S3PartBuffers PartBuffers { get; }

    /// <summary>
    /// Requests retried after a transient failure since the store was opened: each retry of the retry policy, and each
    /// resumption of a body cut off mid-read. Counted only; the runtime reports it.
    /// </summary>
    public long RetriedRequests => Interlocked.Read(ref _retried);

    public string GetUri(string key)
    {
        ValidateKey(key);
        return Location + key;
    }

    /// <summary>Checks that the bucket exists, creating it when the options say so.</summary>
    public async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Under the retry policy like every request: one 503 or reset must not fail the open.
            await RunAsync(null, "open the store", token => Client.GetBucketLocationAsync(new GetBucketLocationRequest { BucketName = Bucket }, token), cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (ObjectStoreException ex) when (Options.CreateBucketIfMissing
                                              && ex.InnerException is AmazonS3Exception s3
                                              && (s3.ErrorCode == "NoSuchBucket" || s3.StatusCode == System.Net.HttpStatusCode.NotFound))
        {
        }

        await RunAsync(null, "create the bucket", async token =>
        {
            try
            {
                await Client.PutBucketAsync(new PutBucketRequest { BucketName = Bucket }, token).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou")
            {
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    private const string Kind = "s3";

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("list", Kind, prefix);
        ObjectKey.ValidatePrefix(prefix);
        string? continuation = null;
        do
        {
            var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = Full(prefix), ContinuationToken = continuation, MaxKeys = 1000 };
            var response = await RunAsync(null, "list objects", token => Client.ListObjectsV2Async(request, token), cancellationToken).ConfigureAwait(false);
            foreach (var item in response.S3Objects ?? [])
            {
                var key = item.Key[_address.Prefix.Length..];
                if (ObjectKey.IsValid(key))
                {
                    yield return new ObjectInfo(key, item.Size ?? 0, Timestamp(item.LastModified), EntityTag.Normalize(item.ETag));
                }
            }

            continuation = response.IsTruncated == true ? response.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    public async ValueTask<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("head", Kind, key);
        ValidateKey(key);
        try
        {
            return await RunAsync(key, "read the object's metadata", async token =>
            {
                var response = await Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = Full(key) }, token).ConfigureAwait(false);
                return new ObjectInfo(key, response.ContentLength, Timestamp(response.LastModified), EntityTag.Normalize(response.ETag));
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    public ValueTask<ObjectWriteStream> OpenWriteAsync(string key, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("open_write", Kind, key);
        ValidateKey(key);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<ObjectWriteStream>(new S3WriteStream(this, key));
    }

    public async ValueTask<int> DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var all = keys.Distinct(StringComparer.Ordinal).ToList();
        all.ForEach(key => ValidateKey(key));
        using var span = ObjectStoreTracing.Start("delete", Kind, all.Count == 0 ? "" : all[0], all.Count);
        for (var start = 0; start < all.Count; start += 1000)
        {
            var batch = all.GetRange(start, Math.Min(1000, all.Count - start));
            var response = await RunAsync(batch[0], "delete objects", token => Client.DeleteObjectsAsync(
                new DeleteObjectsRequest { BucketName = Bucket, Quiet = true, Objects = batch.ConvertAll(k => new KeyVersion { Key = Full(k) }) },
                token), cancellationToken).ConfigureAwait(false);
            if (response.DeleteErrors is { Count: > 0 } errors)
            {
                var first = errors[0];
                throw new ObjectStoreException(Location, first.Key?[_address.Prefix.Length..], $"cannot delete: {first.Code}: {first.Message} ({errors.Count} of {batch.Count} keys failed)");
            }
        }

        // S3 does not say which keys existed: every key asked for is gone, and counted.
        return all.Count;
    }

    public async ValueTask<ObjectInfo> MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        ValidateKey(sourceKey);
        ValidateKey(destinationKey);
        using var span = ObjectStoreTracing.Start("move", Kind, destinationKey);
        var source = await HeadAsync(sourceKey, cancellationToken).ConfigureAwait(false)
            ?? throw new ObjectNotFoundException(Location, sourceKey);
        if (string.Equals(sourceKey, destinationKey, StringComparison.Ordinal))
        {
            return source;
        }

        ObjectInfo moved;
        if (source.Size <= S3StoreOptions.MaxPartSize)
        {
            moved = await RunAsync(destinationKey, "copy the object", async token =>
            {
                var request = new CopyObjectRequest { SourceBucket = Bucket, SourceKey = Full(sourceKey), DestinationBucket = Bucket, DestinationKey = Full(destinationKey) };
                ApplyEncryption(request);
                var response = await Client.CopyObjectAsync(request, token).ConfigureAwait(false);
                return new ObjectInfo(destinationKey, source.Size, DateTimeOffset.UtcNow, EntityTag.Normalize(response.ETag));
            }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            moved = await ComposeAsync(destinationKey, [ObjectSegment.Whole(sourceKey, source.Size)], cancellationToken).ConfigureAwait(false);
        }

        await DeleteAsync([sourceKey], cancellationToken).ConfigureAwait(false);
        return moved;
    }

    public async Task<int> AbortIncompleteUploadsAsync(string keyPrefix, CancellationToken cancellationToken = default)
    {
        ObjectKey.ValidatePrefix(keyPrefix);
        var aborted = await Journal.AbortRecordedAsync(keyPrefix, cancellationToken).ConfigureAwait(false);
        if (!Profile.CanListMultipartUploads)
        {
            return aborted;
        }

        // The second safety net: uploads the journal does not know of (e.g. a crash between starting an upload and
        // recording it).
        foreach (var (key, uploadId) in await ListUploadsAsync(keyPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (await AbortUploadAsync(key, uploadId, cancellationToken).ConfigureAwait(false))
            {
                aborted++;
            }
        }

        return aborted;
    }

    /// <summary>The incomplete multipart uploads under <paramref name="keyPrefix"/> (ListMultipartUploads, every page): their keys and ids.</summary>
    private async Task<List<(string Key, string UploadId)>> ListUploadsAsync(string keyPrefix, CancellationToken cancellationToken)
    {
        var uploads = new List<(string Key, string UploadId)>();
        string? keyMarker = null, uploadMarker = null;
        do
        {
            var request = new ListMultipartUploadsRequest { BucketName = Bucket, Prefix = Full(keyPrefix), KeyMarker = keyMarker, UploadIdMarker = uploadMarker };
            var response = await RunAsync(null, "list multipart uploads", token => Client.ListMultipartUploadsAsync(request, token), cancellationToken).ConfigureAwait(false);
            uploads.AddRange((response.MultipartUploads ?? []).Select(u => (u.Key[_address.Prefix.Length..], u.UploadId)));
            (keyMarker, uploadMarker) = response.IsTruncated == true ? (response.NextKeyMarker, response.NextUploadIdMarker) : (null, null);
        }
        while (keyMarker is not null);
        return uploads;
    }

    public ValueTask DisposeAsync()
    {
        Client.Dispose();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Why the key cannot name an object here: it is not valid, or with the store's prefix it is longer than S3's 1,024 bytes.</summary>
    public string? CheckKey(string key)
    {
        try
        {
            ValidateKey(key);
            return null;
        }
        catch (InvalidObjectKeyException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>Counts one retried request (<see cref="RetriedRequests"/>) and logs it at Debug, with what failed.</summary>
    /// <param name="action">What the request was for ("write the object").</param>
    /// <param name="key">The object's key, when it is about one.</param>
    /// <param name="attempt">The attempt that failed: 1 for the first.</param>
    /// <param name="error">Its failure.</param>
    internal void CountRetry(string action, string? key, int attempt, Exception? error)
    {
        Interlocked.Increment(ref _retried);
        var logger = Options.Logger;
        if (logger is not null && logger.IsEnabled(LogLevel.Debug))
        {
            var cause = S3Errors.Describe(error, Scrub);
            S3Log.RequestRetried(logger, action, key ?? string.Empty, Bucket, attempt, Options.MaxRequestAttempts, cause, null);
        }
    }

    /// <summary>Checks a key, and that with the store's prefix it stays within S3's 1,024 bytes.</summary>
    /// <exception cref="InvalidObjectKeyException">The key is not valid.</exception>
    internal string ValidateKey(string key)
    {
        ObjectKey.Validate(key);
        if (_address.Prefix.Length > 0 && System.Text.Encoding.UTF8.GetByteCount(key) + System.Text.Encoding.UTF8.GetByteCount(_address.Prefix) > ObjectKey.MaxUtf8Bytes)
        {
            throw new InvalidObjectKeyException(key, $"with the store's prefix '{_address.Prefix}' it is longer than {ObjectKey.MaxUtf8Bytes} UTF-8 bytes");
        }

        return key;
    }

    /// <summary>Replaces any credential in <paramref name="text"/> (it may come from the server) with asterisks.</summary>
    internal string Scrub(string text)
    {
        foreach (var secret in _secrets)
        {
            text = text.Replace(secret, "***", StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>The bucket key of a store key.</summary>
    internal string Full(string key) => _address.Prefix + key;

    /// <summary>Runs one request under the retry policy and translates its failure.</summary>
    internal async Task<T> RunAsync<T>(string? key, string action, Func<CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        try
        {
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(S3Errors.Request, (action, key));
            try
            {
                return await _pipeline.ExecuteAsync(static async (context, request) => await request(context.CancellationToken).ConfigureAwait(false), context, request).ConfigureAwait(false);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw S3Errors.Translate(ex, Location, Bucket, key, action, Scrub);
        }
    }

    /// <summary>Aborts one multipart upload; false when it no longer existed.</summary>
    internal async Task<bool> AbortUploadAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            await RunAsync(key, "abort a multipart upload", token => Client.AbortMultipartUploadAsync(
                new AbortMultipartUploadRequest { BucketName = Bucket, Key = Full(key), UploadId = uploadId }, token), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ObjectStoreException ex) when (ex.InnerException is AmazonS3Exception { ErrorCode: "NoSuchUpload" } or AmazonS3Exception { StatusCode: System.Net.HttpStatusCode.NotFound })
        {
            return false;
        }
    }

    /// <summary>Writes a small object with one PUT (no journal, no multipart).</summary>
    internal Task<ObjectInfo> PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        RunAsync(key, "write the object", async token =>
        {
            var request = new PutObjectRequest
            {
                BucketName = Bucket,
                Key = Full(key),
                InputStream = AsStream(content),
                AutoCloseStream = true,
                UseChunkEncoding = Profile.UseChunkEncoding,
            };
            request.Headers.ContentLength = content.Length;
            ApplyEncryption(request);
            var response = await Client.PutObjectAsync(request, token).ConfigureAwait(false);
            return new ObjectInfo(key, content.Length, DateTimeOffset.UtcNow, EntityTag.Normalize(response.ETag));
        }, cancellationToken);

    internal static DateTimeOffset Timestamp(DateTime? time) =>
        time is { } t ? new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime()) : DateTimeOffset.UnixEpoch;

    /// <summary>A read-only stream over <paramref name="content"/>, without copying it when it is an array.</summary>
    internal static Stream AsStream(ReadOnlyMemory<byte> content) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);

    internal static string RangeHeader(long offset, long length) =>
        string.Create(CultureInfo.InvariantCulture, $"bytes={offset}-{offset + length - 1}");
}
