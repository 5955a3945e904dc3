using BenchmarkDotNet.Attributes;

namespace Dataflow.Benchmarks;

/// <summary>
/// Writing <see cref="SizeMiB"/> MiB through an object store's write stream without a network: the local folder
/// store's <c>OpenWriteAsync</c> (a temporary file with a 64 KiB buffer, renamed into place by
/// <c>CompleteAsync</c>) against the baseline of a plain <see cref="Stream.CopyToAsync(Stream)"/> of the same bytes
/// into a <see cref="FileStream"/> in the same folder; and, as the floor, a copy into a <see cref="MemoryStream"/>.
/// </summary>
/// <remarks>
/// <para>The S3 store's part splitting (<c>S3WriteStream</c>: pooled part buffers that start at 64 KiB and grow to
/// the part size, a full part handed to an upload slot) is not separable from its client: the same
/// <c>WriteAsync</c> that fills a part starts the multipart upload and sends the part, and the store builds its
/// own <c>AmazonS3Client</c>, so there is no way to run it without an S3 server. This suite therefore measures the
/// local folder store's write path, as the issue allows; the S3 path is measured against a real server by
/// <see cref="S3TransferBenchmarks"/> and <c>dotnet run -c Release -- s3</c>.</para>
/// <para>The FileStream baseline is the honest comparison: the same bytes, the same source stream and copy loop, the
/// same disk and folder, the same 64 KiB asynchronous file buffer; what the store adds is the temporary name, the
/// rename into place and the <see cref="ObjectInfo"/> of the result. Neither flushes to disk (the store's default).
/// Each operation overwrites the previous one's file or object, so the disk does not fill up.</para>
/// </remarks>
[MemoryDiagnoser]
public class StoreWriteBenchmarks
{
    private const string Key = "bench/object.bin";

    private string _folder = null!;
    private IObjectStore _store = null!;
    private byte[] _bytes = null!;
    private MemoryStream _memory = null!;

    /// <summary>Bytes written per operation, in MiB.</summary>
    [Params(256)]
    public int SizeMiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "dataflow-bench-store-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        _store = ObjectStore.OpenFolder(Path.Combine(_folder, "store"));
        _bytes = new byte[SizeMiB << 20];
        new Random(5).NextBytes(_bytes);
        _memory = new MemoryStream(_bytes.Length);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "Stream.CopyToAsync into a FileStream")]
    public async Task<long> CopyToFileStream()
    {
        using var source = new MemoryStream(_bytes, writable: false);
        var file = new FileStream(Path.Combine(_folder, "plain.bin"), FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
        await using (file)
        {
            await source.CopyToAsync(file);
            return Check(file.Length);
        }
    }

    [Benchmark(Description = "local folder store: OpenWriteAsync + CopyToAsync + CompleteAsync")]
    public async Task<long> LocalStoreWrite()
    {
        using var source = new MemoryStream(_bytes, writable: false);
        await using var stream = await _store.OpenWriteAsync(Key);
        await source.CopyToAsync(stream);
        var info = await stream.CompleteAsync();
        return Check(info.Size);
    }

    [Benchmark(Description = "Stream.CopyToAsync into a MemoryStream (floor)")]
    public async Task<long> CopyToMemoryStream()
    {
        using var source = new MemoryStream(_bytes, writable: false);
        _memory.SetLength(0);
        await source.CopyToAsync(_memory);
        return Check(_memory.Length);
    }

    private long Check(long bytes) =>
        bytes == _bytes.Length ? bytes : throw new InvalidOperationException($"wrote {bytes} bytes, expected {_bytes.Length}");
}
