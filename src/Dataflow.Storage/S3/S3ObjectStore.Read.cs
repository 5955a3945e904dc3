using System.Globalization;
using Amazon.S3.Model;
using Dataflow.Core;

namespace Dataflow.Storage;

internal sealed partial class S3ObjectStore
{
    public async ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("open_read", Kind, key);
        ValidateKey(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "the length may not be negative");
        }

        return await OpenRangeAsync(key, offset, length, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens a segment; one that names an entity tag is read with <c>If-Match</c> on it, every request of it (the GET,
    /// each range of a parallel read, each resumption), so that no byte of another version is returned.
    /// </summary>
    public async ValueTask<Stream> OpenSegmentAsync(ObjectSegment segment, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("open_read", Kind, segment.Key);
        segment.Validate();
        ValidateKey(segment.Key);
        return await OpenRangeAsync(segment.Key, segment.Offset, segment.Length, EntityTag.Normalize(segment.ETag), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens a range of the object, of the version <paramref name="ifMatch"/> only when given.</summary>
    private async Task<Stream> OpenRangeAsync(string key, long offset, long? length, string? ifMatch, CancellationToken cancellationToken)
    {
        if (length == 0 || length >= Options.ParallelReadThreshold)
        {
            // Empty ranges need no GET (S3 cannot express them); large ones are fetched in parallel ranges, each of
            // the version the HEAD saw (or the one asked for), so that a replacement mid-read cannot mix versions.
            var info = await HeadAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, key);
            CheckVersion(key, ifMatch, info.ETag);
            CheckRange(key, info.Size, offset, length!.Value);
            return length == 0 ? new MemoryStream([], writable: false) : new ParallelRangeReadStream(this, key, offset, length.Value, info.ETag);
        }

        GetObjectResponse response;
        try
        {
            // Of an unknown length, no more than a parallel read's threshold is asked for: when the object turns out
            // to be large, this body is the read's first range instead of a whole object's GET given up after its
            // headers (which the server went on sending until it noticed).
            response = await GetAsync(key, offset, length ?? Options.ParallelReadThreshold, cancellationToken, ifMatch).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex is not ObjectNotFoundException && ex.InnerException is Amazon.S3.AmazonS3Exception { ErrorCode: "InvalidRange" })
        {
            // S3 refuses ranges that start at the end; the contract reads them as empty.
            var info = await HeadAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, key);
            CheckVersion(key, ifMatch, info.ETag);
            CheckRange(key, info.Size, offset, length ?? Math.Max(0, info.Size - offset));
            return new MemoryStream([], writable: false);
        }

        try
        {
            var total = TotalSize(response, offset);
            var count = length ?? total - offset;
            CheckRange(key, total, offset, count);
            if (count >= Options.ParallelReadThreshold)
            {
                // Learnt only now that the object is large: the rest comes in parallel ranges, of the version seen,
                // while this body, the first ParallelReadThreshold bytes, is read as it arrives.
                var etag = ifMatch ?? EntityTag.Normalize(response.ETag);
                var head = new ResponseStream(this, key, response, offset, Options.ParallelReadThreshold);
                return new ParallelRangeReadStream(this, key, offset, count, etag, head);
            }

            return new ResponseStream(this, key, response, offset, count);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private Task<GetObjectResponse> GetAsync(string key, long offset, long? length, CancellationToken cancellationToken, string? ifMatch = null) =>
        RunIfMatchAsync(key, ifMatch, "read the object", token =>
        {
            var request = new GetObjectRequest { BucketName = Bucket, Key = Full(key), EtagToMatch = ifMatch };
            if (length is { } count)
            {
                request.ByteRange = new ByteRange(offset, offset + count - 1);
            }
            else if (offset > 0)
            {
                request.ByteRange = new ByteRange(string.Create(CultureInfo.InvariantCulture, $"bytes={offset}-"));
            }

            return Client.GetObjectAsync(request, token);
        }, cancellationToken);

    /// <summary>
    /// Fills <paramref name="destination"/> with the bytes of <paramref name="key"/> from <paramref name="offset"/>, of
    /// the version <paramref name="ifMatch"/> only when given, retrying the whole range on transient errors.
    /// </summary>
    /// <exception cref="ObjectChangedException">The object is not the version <paramref name="ifMatch"/>.</exception>
    internal Task ReadRangeAsync(string key, long offset, Memory<byte> destination, string? ifMatch, CancellationToken cancellationToken)
    {
        ifMatch = EntityTag.Normalize(ifMatch);
        return RunIfMatchAsync(key, ifMatch, "read the object", async token =>
        {
            var request = new GetObjectRequest { BucketName = Bucket, Key = Full(key), ByteRange = new ByteRange(offset, offset + destination.Length - 1), EtagToMatch = ifMatch };
            using var response = await Client.GetObjectAsync(request, token).ConfigureAwait(false);
            var total = TotalSize(response, offset);
            CheckRange(key, total, offset, destination.Length);
            var read = await response.ResponseStream.ReadAtLeastAsync(destination, destination.Length, throwOnEndOfStream: false, token).ConfigureAwait(false);
            if (read != destination.Length)
            {
                throw new IOException($"'{key}': the server sent {read} of the {destination.Length} bytes asked for");
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Runs a request that carries <c>If-Match</c> (or <c>x-amz-copy-source-if-match</c>) on <paramref name="ifMatch"/>,
    /// if given, under the retry policy; its 412 becomes <see cref="ObjectChangedException"/>.
    /// </summary>
    private async Task<T> RunIfMatchAsync<T>(string key, string? ifMatch, string action, Func<CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        try
        {
            return await RunAsync(key, action, request, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ifMatch is not null && IsPreconditionFailed(ex))
        {
            throw await ChangedAsync(key, ifMatch, ex, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Throws <see cref="ObjectChangedException"/> when <paramref name="expected"/> is given and <paramref name="actual"/> is another tag.</summary>
    private void CheckVersion(string key, string? expected, string? actual)
    {
        if (expected is not null && !EntityTag.Matches(expected, actual))
        {
            throw new ObjectChangedException(Location, key, expected, actual);
        }
    }

    /// <summary>True when the server refused a request for its If-Match (or copy-source-if-match) condition: 412.</summary>
    private static bool IsPreconditionFailed(ObjectStoreException exception) =>
        exception.InnerException is Amazon.S3.AmazonS3Exception s3
        && (s3.StatusCode == System.Net.HttpStatusCode.PreconditionFailed || s3.ErrorCode == "PreconditionFailed");

    /// <summary>
    /// The exception for a request refused because <paramref name="key"/> is not the version <paramref name="expected"/>,
    /// with the tag it has now (a HEAD, on this failure path only); <see cref="ObjectNotFoundException"/> when it is gone.
    /// </summary>
    private async Task<ObjectStoreException> ChangedAsync(string key, string expected, ObjectStoreException refusal, CancellationToken cancellationToken)
    {
        ObjectInfo? now;
        try
        {
            now = await HeadAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException)
        {
            return new ObjectChangedException(Location, key, expected, null, refusal);
        }

        return now is null ? new ObjectNotFoundException(Location, key, refusal) : new ObjectChangedException(Location, key, expected, now.ETag, refusal);
    }

    private void CheckRange(string key, long size, long offset, long length)
    {
        if (offset > size || length > size - offset)
        {
            throw new ObjectStoreException(Location, key, $"bytes {offset} to {offset + length} lie beyond the end of the {size}-byte object");
        }
    }

    private static long TotalSize(GetObjectResponse response, long offset)
    {
        // "Content-Range: bytes a-b/total" on ranged answers; the plain length otherwise.
        if (response.ContentRange is { } range && range.LastIndexOf('/') is var slash and > 0
            && long.TryParse(range.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var total))
        {
            return total;
        }

        return offset + response.ContentLength;
    }
}
