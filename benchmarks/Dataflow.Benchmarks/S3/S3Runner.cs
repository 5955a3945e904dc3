using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dataflow.Benchmarks.EndToEnd;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.S3;

/// <summary>
/// The <c>s3</c> verb: end-to-end S3 figures, cheaper than BenchmarkDotNet for operations that move hundreds of MiB.
/// Each case runs <c>--repetitions</c> times, the cases of a comparison alternating (and which goes first swapping
/// every repetition), each run in a child process of its own (this program with the internal verb
/// <see cref="CaseVerb"/>), so that the peak resident memory it reports belongs to that case alone. The child warms
/// up with a smaller operation of the same kind (JIT, connections), resets its peak, then times one operation.
/// </summary>
internal static class S3Runner
{
    /// <summary>The internal verb that runs one case in a child process.</summary>
    public const string CaseVerb = "s3-case";

    private const string DownloadKey = "download/object.bin";
    private const string WarmupDownloadKey = "warmup/download.bin";
    private const long WarmupSize = 48L << 20;

    private static readonly (string Baseline, string Dataflow)[] s_pairs =
    [
        (Cases.UploadTransferUtility, Cases.UploadDataflow),
        (Cases.DownloadTransferUtility, Cases.DownloadDataflow),
        (Cases.DownloadConcatUpload, Cases.Compose),
    ];

    private const string Usage = """
        usage: Dataflow.Benchmarks s3 [--repetitions N] [--size SIZE] [--pieces N] [--piece-size SIZE]
          --repetitions  runs of each case (default 5); medians are reported
          --size         the object uploaded and downloaded (default 256MiB)
          --pieces       objects merged by the compose cases (default 16)
          --piece-size   their size (default 12MiB; at least 5MiB for a server-side copy)
        The server comes from DATAFLOW_TEST_S3_ENDPOINT, DATAFLOW_TEST_S3_ACCESS_KEY and DATAFLOW_TEST_S3_SECRET_KEY:
        eval "$(scripts/s3-test-server.sh env)"
        """;

    /// <summary>Runs every case and prints the figures as Markdown; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (ParseOrExplain("s3", Usage, args, ParseWithServer, out var exitCode) is not { } options)
        {
            return exitCode;
        }

        return await ReportFailuresAsync("s3", async () =>
        {
            Console.WriteLine((await RunAllAsync(options).ConfigureAwait(false)).Report);
            return 0;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// For the <c>e2e</c> verb: runs the verb with <paramref name="args"/> (its own options) and returns Dataflow
    /// against the baselines (upload and download against TransferUtility, compose against download-concatenate-upload),
    /// with the verb's report as details.
    /// </summary>
    /// <exception cref="ArgumentException">The options are wrong.</exception>
    /// <exception cref="InvalidOperationException">The server's variables are missing, or a case failed or wrote the wrong size.</exception>
    public static async Task<BenchmarkResult> CompareAsync(string[] args)
    {
        var options = ParseWithServer(args);
        var (report, results) = await RunAllAsync(options).ConfigureAwait(false);
        var culture = CultureInfo.InvariantCulture;
        Comparison Row(string baseline, string dataflow)
        {
            var speed = Median(results[dataflow].Select(r => r.Bytes / MiB / r.Seconds));
            var baselineSpeed = Median(results[baseline].Select(r => r.Bytes / MiB / r.Seconds));
            return Comparison.Of(Label(dataflow), [.. results[dataflow].Select(r => r.Seconds)], Label(baseline), [.. results[baseline].Select(r => r.Seconds)],
                string.Create(culture, $"{speed:0.0} vs {baselineSpeed:0.0} MiB/s; peak RSS {Median(results[dataflow].Select(r => r.PeakRss / MiB)):0} vs {Median(results[baseline].Select(r => r.PeakRss / MiB)):0} MiB"));
        }

        return new BenchmarkResult(
            "S3",
            string.Create(culture, $"Against the S3 server at {S3BenchServer.FromEnvironment().Endpoint}: an object of {ByteSize.Format(options.Size)} uploaded and downloaded, and {options.Pieces} x {ByteSize.Format(options.PieceSize)} merged into one object; both clients {S3BenchServer.PartSize >> 20} MiB parts, {S3BenchServer.Concurrency} at once ({UploadMemory()}); each case in a child process after a warm-up (the `s3` verb; see RESULTS-S3.md). Peak RSS: the child's, over the timed operation."),
            [.. s_pairs.Select(p => Row(p.Baseline, p.Dataflow))],
            report);
    }

    /// <summary>The options, once the server's variables are known to be there (even for <c>--help</c>).</summary>
    private static Options ParseWithServer(string[] args)
    {
        var options = Options.Parse(args);
        _ = S3BenchServer.FromEnvironment();
        return options;
    }

    private static async Task<(string Report, Dictionary<string, List<CaseResult>> Results)> RunAllAsync(Options options)
    {
        var started = DateTimeOffset.Now;
        var loadAtStart = LoadAverage();
        await using var fixture = await S3BenchFixture.CreateAsync("dataflow-bench-s3").ConfigureAwait(false);
        var source = Path.Combine(fixture.Folder, "source.bin");
        var warmupSource = Path.Combine(fixture.Folder, "warmup.bin");
        Progress($"bucket {fixture.Bucket}; writing {ByteSize.Format(options.Size)} of random bytes to {source}");
        S3Workloads.WriteRandomFile(source, Math.Max(options.Size, options.PieceSize + (options.Pieces * 4096L)));
        S3Workloads.WriteRandomFile(warmupSource, Math.Min(WarmupSize, options.Size));
        await S3Workloads.UploadDataflowAsync(fixture.Store, source, DownloadKey).ConfigureAwait(false);
        await S3Workloads.UploadDataflowAsync(fixture.Store, warmupSource, WarmupDownloadKey).ConfigureAwait(false);
        await S3Workloads.WritePiecesAsync(fixture.Store, source, options.Pieces, options.PieceSize).ConfigureAwait(false);
        var uploadSize = new FileInfo(source).Length;

        var results = new Dictionary<string, List<CaseResult>>(StringComparer.Ordinal);
        for (var rep = 1; rep <= options.Repetitions; rep++)
        {
            foreach (var (baseline, dataflow) in s_pairs)
            {
                foreach (var name in rep % 2 == 1 ? new[] { dataflow, baseline } : [baseline, dataflow])
                {
                    var key = name switch
                    {
                        Cases.DownloadDataflow or Cases.DownloadTransferUtility => DownloadKey,
                        Cases.Compose or Cases.DownloadConcatUpload => $"composed/{name}-{rep}.bin",
                        _ => $"upload/{name}-{rep}.bin",
                    };
                    var result = await RunChildAsync(options, fixture.Bucket, name, key, rep, source, warmupSource).ConfigureAwait(false);
                    var expected = name is Cases.Compose or Cases.DownloadConcatUpload ? options.Pieces * options.PieceSize : uploadSize;
                    if (result.Bytes != expected)
                    {
                        throw new InvalidOperationException($"{name}: moved {result.Bytes} bytes, expected {expected}");
                    }

                    if (key != DownloadKey)
                    {
                        // The written object must be there, whole; then it goes, so that the bucket stays small.
                        var info = await fixture.Store.HeadAsync(key).ConfigureAwait(false);
                        if (info?.Size != expected)
                        {
                            throw new InvalidOperationException($"{name}: '{key}' is {info?.Size.ToString(CultureInfo.InvariantCulture) ?? "missing"}, expected {expected} bytes");
                        }

                        await fixture.Store.DeleteAsync([key]).ConfigureAwait(false);
                    }

                    (results.TryGetValue(name, out var list) ? list : results[name] = []).Add(result);
                    Progress($"rep {rep}/{options.Repetitions} {name,-24} {result.Bytes / MiB / result.Seconds,8:0.0} MiB/s {result.Seconds,7:0.000} s  peak RSS {result.PeakRss / MiB,6:0} MiB");
                }
            }
        }

        return (Report(options, uploadSize, started, (loadAtStart, LoadAverage()), results), results);
    }

    /// <summary>The child: runs one case once after a warm-up, and prints its <see cref="CaseResult"/> as JSON.</summary>
    public static async Task<int> RunCaseAsync(string[] args)
    {
        var rssStart = ProcessMemory.Resident();
        var named = ParseNamed(args);
        var name = named["case"];
        var key = named["key"];
        var source = named["source"];
        var pieces = S3Workloads.Pieces(int.Parse(named["pieces"], CultureInfo.InvariantCulture), long.Parse(named["piece-size"], CultureInfo.InvariantCulture));
        var fixture = await S3BenchFixture.OpenAsync(named["bucket"]).ConfigureAwait(false);
        try
        {
            // Warm-up: the same operation on a smaller input (JIT, connection pool, buffer pool), its output deleted.
            var warmupKey = named["warmup-key"];
            await RunCaseOnceAsync(fixture, name, name.StartsWith("download", StringComparison.Ordinal) ? WarmupDownloadKey : warmupKey, named["warmup-source"], pieces.Take(2).ToList()).ConfigureAwait(false);
            if (!name.StartsWith("download", StringComparison.Ordinal))
            {
                await fixture.Store.DeleteAsync([warmupKey]).ConfigureAwait(false);
            }

            var rssBefore = SettleMemory();
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var (sent, received, requests) = (fixture.Store.Traffic.BytesSent, fixture.Store.Traffic.BytesReceived, fixture.Store.Traffic.Requests);
            var clock = Stopwatch.StartNew();
            var bytes = await RunCaseOnceAsync(fixture, name, key, source, pieces).ConfigureAwait(false);
            clock.Stop();
            var result = new CaseResult(
                name,
                bytes,
                clock.Elapsed.TotalSeconds,
                rssStart,
                rssBefore,
                ProcessMemory.Peak(),
                GC.GetTotalAllocatedBytes(precise: true) - allocated,
                fixture.Store.Traffic.BytesSent - sent,
                fixture.Store.Traffic.BytesReceived - received,
                fixture.Store.Traffic.Requests - requests);
            PrintResult(result);
            return 0;
        }
        finally
        {
            await fixture.CloseAsync().ConfigureAwait(false);
        }
    }

    private static Task<long> RunCaseOnceAsync(S3BenchFixture fixture, string name, string key, string source, IReadOnlyList<ObjectSegment> pieces) => name switch
    {
        Cases.UploadDataflow => S3Workloads.UploadDataflowAsync(fixture.Store, source, key),
        Cases.UploadTransferUtility => S3Workloads.UploadTransferUtilityAsync(fixture.Transfer, fixture.Bucket, source, key),
        Cases.DownloadDataflow => S3Workloads.DownloadDataflowAsync(fixture.Store, key),
        Cases.DownloadTransferUtility => S3Workloads.DownloadTransferUtilityAsync(fixture.Transfer, fixture.Bucket, key),
        Cases.Compose => S3Workloads.ComposeAsync(fixture.Store, key, pieces),
        Cases.DownloadConcatUpload => S3Workloads.DownloadConcatUploadAsync(fixture.Store, key, pieces),
        _ => throw new ArgumentException($"unknown case '{name}'", nameof(name)),
    };

    private static Task<CaseResult> RunChildAsync(Options options, string bucket, string name, string key, int rep, string source, string warmupSource) =>
        EndToEndRunner.RunChildAsync<CaseResult>(name, rep,
        [
            CaseVerb, "--case", name, "--bucket", bucket, "--key", key, "--warmup-key", $"warmup/{name}-{rep}.bin",
            "--source", source, "--warmup-source", warmupSource,
            "--pieces", options.Pieces.ToString(CultureInfo.InvariantCulture), "--piece-size", options.PieceSize.ToString(CultureInfo.InvariantCulture),
        ]);

    private static string Report(Options options, long size, DateTimeOffset started, (string Start, string End) load, Dictionary<string, List<CaseResult>> results)
    {
        var culture = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(culture, $"## S3: Dataflow vs TransferUtility ({started:yyyy-MM-dd HH:mm zzz})");
        text.AppendLine();
        text.AppendLine(culture, $"{Machine()}endpoint {S3BenchServer.FromEnvironment().Endpoint}; {LoadAverages(load)}");
        text.AppendLine(culture, $"{options.Repetitions} repetitions per case, alternating; object {ByteSize.Format(size)}; compose {options.Pieces} x {ByteSize.Format(options.PieceSize)}. "
            + $"Both clients: {S3BenchServer.PartSize >> 20} MiB parts/ranges, {S3BenchServer.Concurrency} at once; {UploadMemory()}. Peak RSS: the child process's VmHWM over the timed operation (reset after the warm-up), runtime included.");
        text.AppendLine();
        text.AppendLine("| Case | Median MiB/s | Min-max MiB/s | Median s | Peak RSS median (max) | RSS at child start | RSS before op | Allocated (median) | Through client (median) | Requests |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (baseline, dataflow) in s_pairs)
        {
            foreach (var name in new[] { baseline, dataflow })
            {
                var list = results[name];
                var speeds = list.Select(r => r.Bytes / MiB / r.Seconds).ToList();
                var client = name is Cases.UploadTransferUtility or Cases.DownloadTransferUtility ? "(not counted)" : Mib(Median(list.Select(r => (double)(r.Sent + r.Received))));
                var requests = name is Cases.UploadTransferUtility or Cases.DownloadTransferUtility ? "-" : Median(list.Select(r => (double)r.Requests)).ToString("0", culture);
                text.AppendLine(culture,
                    $"| {Label(name)} | {Median(speeds):0.0} | {speeds.Min():0.0}-{speeds.Max():0.0} | {Median(list.Select(r => r.Seconds)):0.000} "
                    + $"| {Mib(Median(list.Select(r => (double)r.PeakRss)))} ({Mib(list.Max(r => r.PeakRss))}) | {Mib(Median(list.Select(r => (double)r.RssStart)))} | {Mib(Median(list.Select(r => (double)r.RssBefore)))} "
                    + $"| {Mib(Median(list.Select(r => (double)r.Allocated)))} | {client} | {requests} |");
            }
        }

        text.AppendLine();
        double MedianSpeed(string name) => Median(results[name].Select(r => r.Bytes / MiB / r.Seconds));
        double MedianTime(string name) => Median(results[name].Select(r => r.Seconds));

        // The two cases of a pair run back to back, so the ratio within each repetition shares its moment's load.
        double PairedRatio(string a, string b) => Median(results[a].Zip(results[b], (x, y) => x.Seconds / y.Seconds));
        text.AppendLine(culture, $"- upload, Dataflow / TransferUtility (MiB/s, medians): **{MedianSpeed(Cases.UploadDataflow) / MedianSpeed(Cases.UploadTransferUtility):0.00}** "
            + $"(median of the per-repetition ratios: {PairedRatio(Cases.UploadTransferUtility, Cases.UploadDataflow):0.00})");
        text.AppendLine(culture, $"- download, Dataflow / TransferUtility (MiB/s, medians): **{MedianSpeed(Cases.DownloadDataflow) / MedianSpeed(Cases.DownloadTransferUtility):0.00}** "
            + $"(median of the per-repetition ratios: {PairedRatio(Cases.DownloadTransferUtility, Cases.DownloadDataflow):0.00})");
        text.AppendLine(culture, $"- compose / download-concat-upload (time, medians): **{MedianTime(Cases.Compose) / MedianTime(Cases.DownloadConcatUpload):0.00}** "
            + $"({MedianTime(Cases.Compose):0.000} s vs {MedianTime(Cases.DownloadConcatUpload):0.000} s; median of the per-repetition ratios: {PairedRatio(Cases.Compose, Cases.DownloadConcatUpload):0.00})");
        text.AppendLine();
        text.AppendLine("Every repetition (MiB/s, in the order run):");
        text.AppendLine();
        foreach (var (baseline, dataflow) in s_pairs)
        {
            foreach (var name in new[] { baseline, dataflow })
            {
                text.AppendLine(culture, $"- {Label(name)}: {string.Join(", ", results[name].Select(r => (r.Bytes / MiB / r.Seconds).ToString("0.0", culture)))}");
            }
        }

        return text.ToString();
    }

    /// <summary>What bounds Dataflow's uploads besides the concurrency: its store's part buffers per upload (a sentence part).</summary>
    private static string UploadMemory()
    {
        var options = S3BenchServer.FromEnvironment().StoreOptions();
        return string.Create(CultureInfo.InvariantCulture,
            $"Dataflow's uploads hold at most {ByteSize.Format(options.MaxUploadMemory)} of part buffers (MaxUploadMemory, its default): {S3PartBuffers.PerUpload(options)} parts being written or sent");
    }

    private static string Label(string name) => name switch
    {
        Cases.UploadTransferUtility => "upload, TransferUtility (baseline)",
        Cases.UploadDataflow => "upload, Dataflow",
        Cases.DownloadTransferUtility => "download, TransferUtility (baseline)",
        Cases.DownloadDataflow => "download, Dataflow",
        Cases.DownloadConcatUpload => "compose: download-concat-upload (baseline)",
        Cases.Compose => "compose: ComposeAsync (server side)",
        _ => name,
    };

    private static string Mib(double bytes) =>
        bytes >= MiB ? (bytes / MiB).ToString("0", CultureInfo.InvariantCulture) + " MiB" : (bytes / 1024).ToString("0.0", CultureInfo.InvariantCulture) + " KiB";

    private static void Progress(string message) => Console.Error.WriteLine("s3: " + message);

    /// <summary>The case names, as the child verb takes them.</summary>
    private static class Cases
    {
        public const string UploadDataflow = "upload-dataflow";
        public const string UploadTransferUtility = "upload-transferutility";
        public const string DownloadDataflow = "download-dataflow";
        public const string DownloadTransferUtility = "download-transferutility";
        public const string Compose = "compose";
        public const string DownloadConcatUpload = "download-concat-upload";
    }

    private sealed record Options(int Repetitions, long Size, int Pieces, long PieceSize, bool Help) : IVerbOptions
    {
        public static Options Parse(string[] args)
        {
            if (args.Any(a => a is "-h" or "--help"))
            {
                return new Options(0, 0, 0, 0, Help: true);
            }

            var named = ParseOptions(args, "repetitions", "size", "pieces", "piece-size");

            var options = new Options(
                named.TryGetValue("repetitions", out var r) ? int.Parse(r, NumberStyles.None, CultureInfo.InvariantCulture) : 5,
                named.TryGetValue("size", out var s) ? ByteSize.Parse(s) : 256L << 20,
                named.TryGetValue("pieces", out var p) ? int.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture) : 16,
                named.TryGetValue("piece-size", out var ps) ? ByteSize.Parse(ps) : 12L << 20,
                Help: false);
            if (options.Repetitions < 1 || options.Size < 1 || options.Pieces < 2 || options.PieceSize < 1)
            {
                throw new ArgumentException("--repetitions and --size must be at least 1, --pieces at least 2, --piece-size at least 1 byte");
            }

            return options;
        }
    }
}

/// <summary>What one child measured: one timed operation.</summary>
/// <param name="Case">The case's name.</param>
/// <param name="Bytes">Bytes moved (uploaded, downloaded, or the composed object's size).</param>
/// <param name="Seconds">Wall time of the operation.</param>
/// <param name="RssStart">Resident memory when the child started.</param>
/// <param name="RssBefore">Resident memory after the warm-up and a full GC, just before the operation.</param>
/// <param name="PeakRss">The peak resident memory during the operation.</param>
/// <param name="Allocated">Managed bytes allocated during the operation (all threads).</param>
/// <param name="Sent">Request body bytes Dataflow's store sent (its counting handler; 0 for TransferUtility).</param>
/// <param name="Received">Response body bytes Dataflow's store received.</param>
/// <param name="Requests">Requests Dataflow's store sent.</param>
internal sealed record CaseResult(string Case, long Bytes, double Seconds, long RssStart, long RssBefore, long PeakRss, long Allocated, long Sent, long Received, long Requests);
