using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using Amazon.S3.Model;
using Dataflow.Core;

namespace Dataflow.Storage;

internal sealed partial class S3ObjectStore
{
    /// <summary>Small pieces of an uploaded part fetched at once.</summary>
    private const int PieceReads = 16;

    /// <summary>
    /// Set once the server has refused a copy whose <c>x-amz-copy-source-if-match</c> named the source's current tag,
    /// a multipart one (OpenStack Swift's s3api compares the condition with another tag than the one it reports for
    /// multipart objects). Copies from multipart sources then go without the condition, and their sources' tags are
    /// checked with a HEAD once all parts are copied, before the upload completes.
    /// </summary>
    private volatile bool _copyConditionFailsOnMultipart;

    public async ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default) =>
        (await ComposeCoreAsync(destinationKey, sources, owner: null, cancellationToken).ConfigureAwait(false)).Info!;

    public async ValueTask<StagedObject> ComposeStagedAsync(string key, string owner, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(owner);
        return (await ComposeCoreAsync(key, sources, owner, cancellationToken).ConfigureAwait(false)).Staged!;
    }

    /// <summary>Composes <paramref name="sources"/> into <paramref name="destinationKey"/>: published, or staged when an <paramref name="owner"/> is given.</summary>
    private async ValueTask<(ObjectInfo? Info, StagedObject? Staged)> ComposeCoreAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, string? owner, CancellationToken cancellationToken)
    {
        ValidateKey(destinationKey);
        ArgumentNullException.ThrowIfNull(sources);
        using var span = ObjectStoreTracing.Start("compose", Kind, destinationKey, sources.Count);
        foreach (var source in sources)
        {
            source.Validate();
            ValidateKey(source.Key);
        }

        // Empty pieces add no bytes and no parts, so nothing else would notice a missing object, a range past its
        // end or another version.
        foreach (var empty in sources.Where(s => s.Length == 0).DistinctBy(s => s.Key))
        {
            var info = await HeadAsync(empty.Key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, empty.Key);
            foreach (var source in sources.Where(s => s.Length == 0 && s.Key == empty.Key))
            {
                CheckVersion(source.Key, EntityTag.Normalize(source.ETag), info.ETag);
                CheckRange(source.Key, info.Size, source.Offset, 0);
            }
        }

        var parts = S3ComposePlan.Create(sources, S3StoreOptions.MinPartSize, S3StoreOptions.MaxPartSize, Options.PartSize);
        var total = parts.Sum(p => p.Length);
        if (parts.Count > S3StoreOptions.MaxParts)
        {
            throw new ObjectStoreException(Location, destinationKey, $"cannot compose {sources.Count} pieces: they need {parts.Count} parts, over the limit of {S3StoreOptions.MaxParts}");
        }

        if (owner is not null && parts.Count == 0)
        {
            // A staged object is always a multipart upload, so an empty one is one empty part.
            parts = [new S3ComposePlan.Part(null, [])];
        }

        if (owner is null && (parts.Count == 0 || (parts.Count == 1 && !parts[0].IsCopy)))
        {
            // Small enough for one PUT: read the pieces (each of its version, if it names one) and write them.
            var buffer = ArrayPool<byte>.Shared.Rent((int)total);
            try
            {
                if (parts.Count == 1)
                {
                    await ReadPiecesAsync(parts[0].Pieces, buffer, cancellationToken).ConfigureAwait(false);
                }

                var info = await PutAsync(destinationKey, buffer.AsMemory(0, (int)total), cancellationToken).ConfigureAwait(false);
                return (info with { Size = total }, null);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        var initiate = new InitiateMultipartUploadRequest { BucketName = Bucket, Key = Full(destinationKey) };
        ApplyEncryption(initiate);
        var upload = await RunAsync(destinationKey, "start a multipart upload", token => Client.InitiateMultipartUploadAsync(initiate, token), cancellationToken).ConfigureAwait(false);
        var uploadId = upload.UploadId;
        await Journal.RecordAsync(destinationKey, uploadId, cancellationToken, owner).ConfigureAwait(false);
        using var failures = new PartFailures(cancellationToken);
        using var slots = new SemaphoreSlim(Options.MaxConcurrentParts, Options.MaxConcurrentParts);
        var unconditional = new ConcurrentDictionary<(string Key, string ETag), bool>();
        try
        {
            var tasks = new Task<PartETag>[parts.Count];
            for (var i = 0; i < parts.Count; i++)
            {
                // The first part to fail cancels this wait too: what is reported is that part's failure (below).
                await slots.WaitAsync(failures.Token).ConfigureAwait(false);
                tasks[i] = SendComposedPartAsync(new ComposedPart(destinationKey, uploadId, i + 1, parts[i]), slots, failures, unconditional);
            }

            var etags = await Task.WhenAll(tasks).ConfigureAwait(false);
            await CheckVersionsAsync(unconditional.Keys, cancellationToken).ConfigureAwait(false);
            if (owner is not null)
            {
                return (null, new StagedObject(destinationKey, uploadId, owner, total, StagedParts(etags)));
            }

            var response = await RunAsync(destinationKey, "complete the multipart upload", token => Client.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest { BucketName = Bucket, Key = Full(destinationKey), UploadId = uploadId, PartETags = [.. etags] },
                token), cancellationToken).ConfigureAwait(false);
            await Journal.ForgetAsync(destinationKey, uploadId, CancellationToken.None).ConfigureAwait(false);
            return (new ObjectInfo(destinationKey, total, DateTimeOffset.UtcNow, EntityTag.Normalize(response.ETag)), null);
        }
        catch (Exception ex)
        {
            await failures.CancelAsync().ConfigureAwait(false);
            try
            {
                await AbortUploadAsync(destinationKey, uploadId, CancellationToken.None).ConfigureAwait(false);
                await Journal.ForgetAsync(destinationKey, uploadId, CancellationToken.None, owner).ConfigureAwait(false);
            }
            catch (ObjectStoreException)
            {
                // The journal keeps the upload for the run's clean-up or a later gc.
            }

            failures.Rethrow(ex, cancellationToken);
            throw;
        }
    }

    /// <summary>Part <see cref="Number"/> of the multipart upload <see cref="UploadId"/> of <see cref="Key"/>.</summary>
    private sealed record ComposedPart(string Key, string UploadId, int Number, S3ComposePlan.Part Part);

    private async Task<PartETag> SendComposedPartAsync(ComposedPart target, SemaphoreSlim slots, PartFailures failures, ConcurrentDictionary<(string Key, string ETag), bool> unconditional)
    {
        var token = failures.Token;
        try
        {
            if (target.Part.Copy is { } copy)
            {
                return await CopyPartAsync(target, copy, unconditional, token).ConfigureAwait(false);
            }

            var length = (int)target.Part.Length;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                await ReadPiecesAsync(target.Part.Pieces, buffer, token).ConfigureAwait(false);
                var response = await RunAsync(target.Key, $"upload part {target.Number}", t => Client.UploadPartAsync(
                    new UploadPartRequest
                    {
                        BucketName = Bucket,
                        Key = Full(target.Key),
                        UploadId = target.UploadId,
                        PartNumber = target.Number,
                        PartSize = length,
                        InputStream = new MemoryStream(buffer, 0, length, writable: false),
                        UseChunkEncoding = Profile.UseChunkEncoding,
                    },
                    t), token).ConfigureAwait(false);
                return new PartETag(target.Number, response.ETag);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (Exception ex)
        {
            // The first failure stops the other parts, and is the one reported.
            await failures.FailAsync(ex).ConfigureAwait(false);
            throw;
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>
    /// Copies a range server-side (UploadPartCopy); of the version it names only, by
    /// <c>x-amz-copy-source-if-match</c>, or — where the server cannot apply that to the source — by the check of
    /// <see cref="CheckVersionsAsync"/> once every part is copied (the source is added to <paramref name="unconditional"/>).
    /// </summary>
    private async Task<PartETag> CopyPartAsync(ComposedPart target, ObjectSegment copy, ConcurrentDictionary<(string Key, string ETag), bool> unconditional, CancellationToken cancellationToken)
    {
        var expected = EntityTag.Normalize(copy.ETag);
        var condition = expected is not null && !(_copyConditionFailsOnMultipart && IsMultipartTag(expected)) ? expected : null;
        if (expected is not null && condition is null)
        {
            unconditional.TryAdd((copy.Key, expected), true);
        }

        Task<CopyPartResponse> Copy(string? ifMatch) => RunAsync(copy.Key, $"copy part {target.Number} of '{target.Key}'", token => Client.CopyPartAsync(
            new CopyPartRequest
            {
                SourceBucket = Bucket,
                SourceKey = Full(copy.Key),
                DestinationBucket = Bucket,
                DestinationKey = Full(target.Key),
                UploadId = target.UploadId,
                PartNumber = target.Number,
                FirstByte = copy.Offset,
                LastByte = copy.Offset + copy.Length - 1,
                ETagToMatch = ifMatch is null ? null : [ifMatch],
            },
            token), cancellationToken);

        try
        {
            return new PartETag(target.Number, (await Copy(condition).ConfigureAwait(false)).ETag);
        }
        catch (ObjectStoreException ex) when (condition is not null && IsPreconditionFailed(ex))
        {
            var now = await HeadAsync(copy.Key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, copy.Key, ex);
            CheckVersion(copy.Key, condition, now.ETag);

            // The source is the version named, yet the server refused the condition: copy without it, check after.
            if (IsMultipartTag(condition))
            {
                _copyConditionFailsOnMultipart = true;
            }

            unconditional.TryAdd((copy.Key, condition), true);
            return new PartETag(target.Number, (await Copy(null).ConfigureAwait(false)).ETag);
        }
    }

    /// <summary>Checks with one HEAD per object that the sources copied without a condition are still the versions named.</summary>
    private async Task CheckVersionsAsync(ICollection<(string Key, string ETag)> copied, CancellationToken cancellationToken)
    {
        foreach (var source in copied.GroupBy(c => c.Key, StringComparer.Ordinal))
        {
            var now = await HeadAsync(source.Key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, source.Key);
            foreach (var (key, etag) in source)
            {
                CheckVersion(key, etag, now.ETag);
            }
        }
    }

    // S3 gives a multipart object the tag "<md5 of the parts' md5s>-<parts>".
    private static bool IsMultipartTag(string etag)
    {
        var dash = etag.LastIndexOf('-');
        return dash > 0 && etag.AsSpan(dash + 1).TrimEnd('"') is { Length: > 0 } count && int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out _);
    }

    /// <summary>Reads <paramref name="pieces"/> one after another into <paramref name="buffer"/>, several at once, each of the version it names.</summary>
    private async Task ReadPiecesAsync(IReadOnlyList<ObjectSegment> pieces, byte[] buffer, CancellationToken cancellationToken)
    {
        var offsets = new int[pieces.Count];
        for (var i = 1; i < pieces.Count; i++)
        {
            offsets[i] = offsets[i - 1] + (int)pieces[i - 1].Length;
        }

        await Parallel.ForEachAsync(
            Enumerable.Range(0, pieces.Count),
            new ParallelOptions { MaxDegreeOfParallelism = PieceReads, CancellationToken = cancellationToken },
            async (i, token) => await ReadRangeAsync(pieces[i].Key, pieces[i].Offset, buffer.AsMemory(offsets[i], (int)pieces[i].Length), pieces[i].ETag, token).ConfigureAwait(false)).ConfigureAwait(false);
    }
}
