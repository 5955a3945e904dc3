using BenchmarkDotNet.Attributes;
using Dataflow.Benchmarks.S3;

namespace Dataflow.Benchmarks;

/// <summary>
/// One large object up and down through Dataflow's S3 store and through the SDK's TransferUtility (the baseline of
/// each category), against the server of <c>DATAFLOW_TEST_S3_*</c>. Both use 16 MiB parts (or ranges) with 8 in
/// flight; both upload the same local file, and both downloads stream the object to the caller, who drops it.
/// TransferUtility's client is configured like Dataflow's, with aws-chunked bodies turned off through a pipeline
/// customizer (see <see cref="S3BenchServer.CreateSdkClient"/>). Each operation moves <see cref="SizeMiB"/> MiB,
/// so the job runs few iterations; <c>dotnet run -c Release -- s3</c> gives medians and peak memory per case.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(S3BenchConfig.Transfer))]
public class S3TransferBenchmarks
{
    private const string UploadDataflowKey = "upload/dataflow.bin";
    private const string UploadTransferUtilityKey = "upload/transferutility.bin";
    private const string DownloadKey = "download/object.bin";

    private S3BenchFixture _fixture = null!;
    private string _source = null!;

    /// <summary>The object's size.</summary>
    [Params(256)]
    public int SizeMiB { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _fixture = await S3BenchFixture.CreateAsync("dataflow-bench-transfer");
        _source = Path.Combine(_fixture.Folder, "source.bin");
        S3Workloads.WriteRandomFile(_source, Size);
        await S3Workloads.UploadDataflowAsync(_fixture.Store, _source, DownloadKey);
    }

    [GlobalCleanup]
    public async Task Cleanup() => await _fixture.DisposeAsync();

    /// <summary>Deletes what an upload wrote, so that the server does not fill up.</summary>
    [IterationCleanup(Targets = [nameof(UploadTransferUtility), nameof(UploadDataflow)])]
    public void DeleteUploads() => _fixture.Store.DeleteAsync([UploadDataflowKey, UploadTransferUtilityKey]).AsTask().GetAwaiter().GetResult();

    [BenchmarkCategory("upload"), Benchmark(Baseline = true, Description = "upload: TransferUtility (file path)")]
    public async Task<long> UploadTransferUtility() =>
        Check(await S3Workloads.UploadTransferUtilityAsync(_fixture.Transfer, _fixture.Bucket, _source, UploadTransferUtilityKey));

    [BenchmarkCategory("upload"), Benchmark(Description = "upload: Dataflow OpenWriteAsync")]
    public async Task<long> UploadDataflow() =>
        Check(await S3Workloads.UploadDataflowAsync(_fixture.Store, _source, UploadDataflowKey));

    [BenchmarkCategory("download"), Benchmark(Baseline = true, Description = "download: TransferUtility OpenStreamWithResponse")]
    public async Task<long> DownloadTransferUtility() =>
        Check(await S3Workloads.DownloadTransferUtilityAsync(_fixture.Transfer, _fixture.Bucket, DownloadKey));

    [BenchmarkCategory("download"), Benchmark(Description = "download: Dataflow OpenReadAsync")]
    public async Task<long> DownloadDataflow() =>
        Check(await S3Workloads.DownloadDataflowAsync(_fixture.Store, DownloadKey));

    private long Size => (long)SizeMiB << 20;

    private long Check(long bytes) =>
        bytes == Size ? bytes : throw new InvalidOperationException($"moved {bytes} bytes, expected {Size}");
}
