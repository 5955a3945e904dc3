using Amazon.S3;
using Amazon.S3.Model;
using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>
/// Staged objects: a multipart upload under the object's final key, left open once its parts are uploaded and recorded
/// in the journal under its owner; completing it publishes the object without a copy (its entity tag stays the
/// multipart one).
/// </summary>
internal sealed partial class S3ObjectStore
{
    public bool CanStage => true;

    public int? MaxConcurrentReads => Options.MaxConnections;

    /// <summary>The parts of a staged upload as the store records them: numbers, and tags in their one form.</summary>
    internal static StagedPart[] StagedParts(IEnumerable<PartETag> parts) =>
        [.. parts.Select(p => new StagedPart(p.PartNumber ?? 0, EntityTag.Normalize(p.ETag)!))];

    public ValueTask<StagedWriteStream> OpenStagedWriteAsync(string key, string owner, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("open_staged_write", Kind, key);
        ValidateKey(key);
        ObjectKey.Validate(owner);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<StagedWriteStream>(new S3WriteStream(this, key, owner));
    }

    public async ValueTask<ObjectInfo> PublishStagedAsync(StagedObject staged, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(staged);
        ValidateKey(staged.Key);
        using var span = ObjectStoreTracing.Start("publish_staged", Kind, staged.Key);
        try
        {
            var response = await RunAsync(staged.Key, "complete the staged multipart upload", token => Client.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest
                {
                    BucketName = Bucket,
                    Key = Full(staged.Key),
                    UploadId = staged.UploadId,
                    PartETags = [.. staged.Parts.Select(p => new PartETag(p.Number, p.ETag))],
                },
                token), cancellationToken).ConfigureAwait(false);
            await Journal.ForgetAsync(staged.Key, staged.UploadId, CancellationToken.None, staged.Owner).ConfigureAwait(false);
            await AbortOrphansAtAsync(staged.Key).ConfigureAwait(false);
            return new ObjectInfo(staged.Key, staged.Size, DateTimeOffset.UtcNow, EntityTag.Normalize(response.ETag));
        }
        catch (ObjectStoreException ex) when (ex.InnerException is AmazonS3Exception { ErrorCode: "NoSuchUpload" } or AmazonS3Exception { StatusCode: System.Net.HttpStatusCode.NotFound })
        {
            // Completed before (a publisher that stopped before saying so), or gone: the key tells which, by the tag
            // the parts give the published object (or, where they cannot tell it, by its size).
            var expected = staged.PublishedETag();
            if (await HeadAsync(staged.Key, cancellationToken).ConfigureAwait(false) is { } current
                && current.Size == staged.Size
                && (expected is null || string.Equals(current.ETag, expected, StringComparison.Ordinal)))
            {
                await Journal.ForgetAsync(staged.Key, staged.UploadId, CancellationToken.None, staged.Owner).ConfigureAwait(false);
                await AbortOrphansAtAsync(staged.Key).ConfigureAwait(false);
                return current;
            }

            throw new ObjectNotFoundException(Location, staged.Key, ex);
        }
    }

    /// <summary>
    /// Aborts the incomplete uploads left at <paramref name="key"/> once its output is published there: one whose start
    /// was answered but the answer lost (the retried request started another) is in no journal, and is under no run's
    /// prefix for <see cref="AbortIncompleteUploadsAsync"/> to find. The key holds a published output now, so an upload
    /// still open there is not one anybody will complete. Best effort, where the service lists uploads.
    /// </summary>
    private async Task AbortOrphansAtAsync(string key)
    {
        if (!Profile.CanListMultipartUploads)
        {
            return;
        }

        try
        {
            foreach (var (at, uploadId) in await ListUploadsAsync(key, CancellationToken.None).ConfigureAwait(false))
            {
                if (string.Equals(at, key, StringComparison.Ordinal))
                {
                    await AbortUploadAsync(at, uploadId, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        catch (ObjectStoreException)
        {
            // The output is published; what is left open here, gc or a bucket lifecycle rule ends.
        }
    }
}
