using BenchmarkDotNet.Attributes;
using Dataflow.Benchmarks.S3;

namespace Dataflow.Benchmarks;

/// <summary>
/// Merging <see cref="Pieces"/> objects of <see cref="PieceMiB"/> MiB into one: server side with
/// <c>ComposeAsync</c> (one UploadPartCopy per piece, no payload through the client) against the baseline of
/// reading every piece and writing the concatenation through the same store. The bytes that went through the
/// client per operation are printed at the end of each benchmark's run (in the log), from the store's counters;
/// <c>dotnet run -c Release -- s3</c> puts them in its table.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(S3BenchConfig.Compose))]
public class S3ComposeBenchmarks
{
    private const string Destination = "composed/merged.bin";

    private S3BenchFixture _fixture = null!;
    private IReadOnlyList<ObjectSegment> _pieces = null!;
    private long _clientBytes;
    private int _operations;

    /// <summary>Objects merged.</summary>
    [Params(16)]
    public int Pieces { get; set; }

    /// <summary>The size of each.</summary>
    [Params(12)]
    public int PieceMiB { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _fixture = await S3BenchFixture.CreateAsync("dataflow-bench-compose");
        var source = Path.Combine(_fixture.Folder, "source.bin");
        S3Workloads.WriteRandomFile(source, PieceSize + (Pieces * 4096L));
        await S3Workloads.WritePiecesAsync(_fixture.Store, source, Pieces, PieceSize);
        _pieces = S3Workloads.Pieces(Pieces, PieceSize);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_operations > 0)
        {
            Console.WriteLine($"// bytes through the client per operation (request and response bodies): {_clientBytes / _operations:N0}");
        }

        await _fixture.DisposeAsync();
    }

    [IterationCleanup]
    public void DeleteDestination() => _fixture.Store.DeleteAsync([Destination]).AsTask().GetAwaiter().GetResult();

    [BenchmarkCategory("compose"), Benchmark(Baseline = true, Description = "download, concatenate, upload")]
    public Task<long> DownloadConcatUpload() => Measure(() => S3Workloads.DownloadConcatUploadAsync(_fixture.Store, Destination, _pieces));

    [BenchmarkCategory("compose"), Benchmark(Description = "ComposeAsync (server side)")]
    public Task<long> Compose() => Measure(() => S3Workloads.ComposeAsync(_fixture.Store, Destination, _pieces));

    private long PieceSize => (long)PieceMiB << 20;

    private async Task<long> Measure(Func<Task<long>> operation)
    {
        var traffic = _fixture.Store.Traffic;
        var before = traffic.BytesSent + traffic.BytesReceived;
        var bytes = await operation();
        _clientBytes += traffic.BytesSent + traffic.BytesReceived - before;
        _operations++;
        return bytes == Pieces * PieceSize ? bytes : throw new InvalidOperationException($"composed {bytes} bytes, expected {Pieces * PieceSize}");
    }
}
