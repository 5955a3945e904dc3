using System.Buffers;
using Amazon.S3.Transfer;

namespace Dataflow.Benchmarks.S3;

/// <summary>
/// The operations the S3 benchmarks time, shared by the BenchmarkDotNet classes and the <c>s3</c> runner. Uploads
/// read the same local file (TransferUtility uploads parts in parallel only from a file path: a stream is sent one
/// part at a time); downloads stream the object to the caller, who drops the bytes.
/// </summary>
internal static class S3Workloads
{
    /// <summary>The buffer the caller reads and writes with.</summary>
    private const int CopyBuffer = 1 << 20;

    /// <summary>Dataflow: copies the file into <see cref="Storage.IObjectStore.OpenWriteAsync"/> (multipart, parallel parts from pooled buffers).</summary>
    public static async Task<long> UploadDataflowAsync(S3ObjectStore store, string sourcePath, string key)
    {
        await using var source = OpenSource(sourcePath);
        await using var target = await store.OpenWriteAsync(key).ConfigureAwait(false);
        await source.CopyToAsync(target, CopyBuffer).ConfigureAwait(false);
        var info = await target.CompleteAsync().ConfigureAwait(false);
        return info.Size;
    }

    /// <summary>TransferUtility: uploads the file by path, 16 MiB parts, 8 at once.</summary>
    public static async Task<long> UploadTransferUtilityAsync(TransferUtility transfer, string bucket, string sourcePath, string key)
    {
        await transfer.UploadAsync(new TransferUtilityUploadRequest
        {
            BucketName = bucket,
            Key = key,
            FilePath = sourcePath,
            PartSize = S3BenchServer.PartSize,
        }).ConfigureAwait(false);
        return new FileInfo(sourcePath).Length;
    }

    /// <summary>Dataflow: reads the object through <see cref="Storage.IObjectStore.OpenReadAsync"/> (parallel ranged GETs) and drops the bytes.</summary>
    public static async Task<long> DownloadDataflowAsync(S3ObjectStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key).ConfigureAwait(false);
        return await DrainAsync(stream).ConfigureAwait(false);
    }

    /// <summary>TransferUtility: reads the object through its multipart download stream (16 MiB ranges, 8 at once, at most 8 parts buffered) and drops the bytes.</summary>
    public static async Task<long> DownloadTransferUtilityAsync(TransferUtility transfer, string bucket, string key)
    {
        using var response = await transfer.OpenStreamWithResponseAsync(new TransferUtilityOpenStreamRequest
        {
            BucketName = bucket,
            Key = key,
            MultipartDownloadType = MultipartDownloadType.RANGE,
            PartSize = S3BenchServer.PartSize,
            MaxInMemoryParts = S3BenchServer.Concurrency,
        }).ConfigureAwait(false);
        return await DrainAsync(response.ResponseStream).ConfigureAwait(false);
    }

    /// <summary>Server side: <see cref="Storage.IObjectStore.ComposeAsync"/>, one UploadPartCopy per piece of 5 MiB or more.</summary>
    public static async Task<long> ComposeAsync(S3ObjectStore store, string destination, IReadOnlyList<ObjectSegment> pieces)
    {
        var info = await store.ComposeAsync(destination, pieces).ConfigureAwait(false);
        return info.Size;
    }

    /// <summary>Through the client: reads every piece in turn and writes them to one new object (whose parts upload in parallel).</summary>
    public static async Task<long> DownloadConcatUploadAsync(S3ObjectStore store, string destination, IReadOnlyList<ObjectSegment> pieces)
    {
        await using var target = await store.OpenWriteAsync(destination).ConfigureAwait(false);
        foreach (var piece in pieces)
        {
            await using var source = await store.OpenReadAsync(piece.Key, piece.Offset, piece.Length).ConfigureAwait(false);
            await source.CopyToAsync(target, CopyBuffer).ConfigureAwait(false);
        }

        var info = await target.CompleteAsync().ConfigureAwait(false);
        return info.Size;
    }

    /// <summary>The compose inputs: <paramref name="count"/> objects of <paramref name="size"/> bytes under <c>compose/</c>.</summary>
    public static IReadOnlyList<ObjectSegment> Pieces(int count, long size) =>
        [.. Enumerable.Range(0, count).Select(i => ObjectSegment.Whole(PieceKey(i), size))];

    public static string PieceKey(int index) => $"compose/piece-{index:D4}.bin";

    /// <summary>Writes the compose inputs, each from the start of <paramref name="sourcePath"/> (which must be at least <paramref name="size"/> bytes).</summary>
    public static async Task WritePiecesAsync(S3ObjectStore store, string sourcePath, int count, long size)
    {
        for (var i = 0; i < count; i++)
        {
            await using var source = OpenSource(sourcePath);
            await using var target = await store.OpenWriteAsync(PieceKey(i)).ConfigureAwait(false);
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBuffer);
            try
            {
                // Each piece starts at a different offset, so that no two pieces are the same bytes.
                source.Position = i * 4096L % Math.Max(1, source.Length - size + 1);
                for (long left = size; left > 0;)
                {
                    var n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(CopyBuffer, left))).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new InvalidOperationException($"'{sourcePath}' is shorter than a compose piece ({size} bytes)");
                    }

                    await target.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                    left -= n;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            await target.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Writes <paramref name="size"/> random bytes to <paramref name="path"/> (incompressible, like most data at rest).</summary>
    public static void WriteRandomFile(string path, long size)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, CopyBuffer);
        var buffer = new byte[CopyBuffer];
        for (long left = size; left > 0;)
        {
            Random.Shared.NextBytes(buffer);
            var n = (int)Math.Min(buffer.Length, left);
            file.Write(buffer, 0, n);
            left -= n;
        }
    }

    private static FileStream OpenSource(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.Asynchronous | FileOptions.SequentialScan });

    /// <summary>Reads <paramref name="stream"/> to its end into one reused buffer; returns the bytes read.</summary>
    private static async Task<long> DrainAsync(Stream stream)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBuffer);
        try
        {
            long total = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer.AsMemory(0, CopyBuffer)).ConfigureAwait(false)) > 0)
            {
                total += n;
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
