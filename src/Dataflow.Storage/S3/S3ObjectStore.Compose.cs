using System.Buffers;
using Amazon.S3.Model;
using Dataflow.Core;

namespace Dataflow.Storage;

internal sealed partial class S3ObjectStore
{
    /// <summary>Small pieces of an uploaded part fetched at once.</summary>
    private const int PieceReads = 16;

    public async ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default)
    {
        ValidateKey(destinationKey);
        ArgumentNullException.ThrowIfNull(sources);
        using var span = ObjectStoreTracing.Start("compose", Kind, destinationKey, sources.Count);
        foreach (var source in sources)
        {
            source.Validate();
            ValidateKey(source.Key);
        }

        // Empty pieces add no bytes and no parts, so nothing else would notice a missing object or a range past its end.
        foreach (var empty in sources.Where(s => s.Length == 0).DistinctBy(s => s.Key))
        {
            var info = await HeadAsync(empty.Key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, empty.Key);
            foreach (var source in sources.Where(s => s.Length == 0 && s.Key == empty.Key))
            {
                CheckRange(source.Key, info.Size, source.Offset, 0);
            }
        }

        var parts = S3ComposePlan.Create(sources, S3StoreOptions.MinPartSize, S3StoreOptions.MaxPartSize, Options.PartSize);
        var total = parts.Sum(p => p.Length);
        if (parts.Count > S3StoreOptions.MaxParts)
        {
            throw new ObjectStoreException(Location, destinationKey, $"cannot compose {sources.Count} pieces: they need {parts.Count} parts, over the limit of {S3StoreOptions.MaxParts}");
        }

        if (parts.Count == 0 || (parts.Count == 1 && !parts[0].IsCopy))
        {
            // Small enough for one PUT: read the pieces and write them.
            var buffer = ArrayPool<byte>.Shared.Rent((int)total);
            try
            {
                if (parts.Count == 1)
                {
                    await ReadPiecesAsync(parts[0].Pieces, buffer, cancellationToken).ConfigureAwait(false);
                }

                var info = await PutAsync(destinationKey, buffer.AsMemory(0, (int)total), cancellationToken).ConfigureAwait(false);
                return info with { Size = total };
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
        await Journal.RecordAsync(destinationKey, uploadId, cancellationToken).ConfigureAwait(false);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(Options.MaxConcurrentParts, Options.MaxConcurrentParts);
        try
        {
            var tasks = new Task<PartETag>[parts.Count];
            for (var i = 0; i < parts.Count; i++)
            {
                await slots.WaitAsync(failed.Token).ConfigureAwait(false);
                tasks[i] = SendComposedPartAsync(destinationKey, uploadId, i + 1, parts[i], slots, failed);
            }

            var etags = await Task.WhenAll(tasks).ConfigureAwait(false);
            var response = await RunAsync(destinationKey, "complete the multipart upload", token => Client.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest { BucketName = Bucket, Key = Full(destinationKey), UploadId = uploadId, PartETags = [.. etags] },
                token), cancellationToken).ConfigureAwait(false);
            await Journal.ForgetAsync(destinationKey, uploadId, CancellationToken.None).ConfigureAwait(false);
            return new ObjectInfo(destinationKey, total, DateTimeOffset.UtcNow, response.ETag);
        }
        catch (Exception)
        {
            await failed.CancelAsync().ConfigureAwait(false);
            try
            {
                await AbortUploadAsync(destinationKey, uploadId, CancellationToken.None).ConfigureAwait(false);
                await Journal.ForgetAsync(destinationKey, uploadId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (ObjectStoreException)
            {
                // The journal keeps the upload for the run's clean-up or a later gc.
            }

            throw;
        }
    }

    private async Task<PartETag> SendComposedPartAsync(string key, string uploadId, int number, S3ComposePlan.Part part, SemaphoreSlim slots, CancellationTokenSource failed)
    {
        try
        {
            if (part.Copy is { } copy)
            {
                var response = await RunAsync(copy.Key, $"copy part {number} of '{key}'", token => Client.CopyPartAsync(
                    new CopyPartRequest
                    {
                        SourceBucket = Bucket,
                        SourceKey = Full(copy.Key),
                        DestinationBucket = Bucket,
                        DestinationKey = Full(key),
                        UploadId = uploadId,
                        PartNumber = number,
                        FirstByte = copy.Offset,
                        LastByte = copy.Offset + copy.Length - 1,
                    },
                    token), failed.Token).ConfigureAwait(false);
                return new PartETag(number, response.ETag);
            }

            var length = (int)part.Length;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                await ReadPiecesAsync(part.Pieces, buffer, failed.Token).ConfigureAwait(false);
                var response = await RunAsync(key, $"upload part {number}", token => Client.UploadPartAsync(
                    new UploadPartRequest
                    {
                        BucketName = Bucket,
                        Key = Full(key),
                        UploadId = uploadId,
                        PartNumber = number,
                        PartSize = length,
                        InputStream = new MemoryStream(buffer, 0, length, writable: false),
                        UseChunkEncoding = Profile.UseChunkEncoding,
                    },
                    token), failed.Token).ConfigureAwait(false);
                return new PartETag(number, response.ETag);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch
        {
            // The first failure stops the other parts.
            await failed.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Reads <paramref name="pieces"/> one after another into <paramref name="buffer"/>, several at once.</summary>
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
            async (i, token) => await ReadRangeAsync(pieces[i].Key, pieces[i].Offset, buffer.AsMemory(offsets[i], (int)pieces[i].Length), token).ConfigureAwait(false)).ConfigureAwait(false);
    }
}
