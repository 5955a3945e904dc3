using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dataflow.Benchmarks.EndToEnd;
using Dataflow.Benchmarks.S3;
using Dataflow.Examples.WordCount;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.WordCount;

/// <summary>
/// The <c>wordcount</c> verb: the word-count example as a Dataflow job (in-process <see cref="JobRunner"/>, every core)
/// against the straightforward single-threaded LINQ count (<see cref="WordCountProgram.CountAsync"/>) of the same
/// corpus in a local folder store. The corpus is written once; each repetition then runs both cases, alternating
/// which goes first, each in a child process of its own (this program with the internal verb <see cref="CaseVerb"/>),
/// so that JIT, GC and memory state do not leak from one case into the next. A child warms up on a small corpus with
/// the same code paths, collects garbage, then times one count. After each repetition the parent checks the job's
/// output parts against that repetition's LINQ counts (<see cref="WordCountProgram.CompareAsync"/>).
/// </summary>
/// <remarks>One concept, kept in one file: the word-count benchmark verb, its child-process cases and their checks.</remarks>
internal static class WordCountRunner
{
    /// <summary>The internal verb that runs one case in a child process.</summary>
    public const string CaseVerb = "wordcount-case";

    private const string Dataflow = "dataflow";
    private const string Linq = "linq";
    private const string InputPrefix = "input/";
    private const string WarmupPrefix = "warmup/";
    private const int Seed = 42;

    // The warm-up corpus: a few small objects and one cut into ranges by the warm-up's split size, so that the
    // warm-up goes through the same code as the timed run (grouped small objects, a range split, the reducers).
    private const int WarmupObjects = 4;
    private const long WarmupObjectSize = 256 << 10;
    private const long WarmupLargeSize = 3L << 19;
    private const long WarmupSplitSize = 1L << 20;

    // The word-count program's defaults (WordCountProgram: --map-memory, --reduce-memory).
    private const long MapMemory = 64L << 20;
    private const long ReduceMemory = 64L << 20;

    private const long DefaultSize = 200L << 20;

    private const string Usage = """
        usage: Dataflow.Benchmarks wordcount [--size SIZE] [--objects N] [--large SIZE] [--split-size SIZE] [--reducers R] [--repetitions N] [--store DIR]
          --size         the corpus in all (default 200MiB): N objects of (size - large) / N bytes plus the large one
          --objects      the number of ordinary objects (default 64)
          --large        one more object, larger than the split size so that it is cut into ranges (default 96MiB; 0 for none)
          --split-size   bytes per map task of the Dataflow job (default 64MiB)
                         (the defaults of --large and --split-size scale with --size: 96/200 and 64/200 of it)
          --reducers     reduce tasks of the Dataflow job, i.e. output parts (default 8)
          --repetitions  runs of each case (default 3); medians are reported
          --store        the folder under which the temporary store folder is made (default: the system's temp folder)
        Each case runs in a child process; the Dataflow job uses every core (Environment.ProcessorCount), the LINQ count one.
        """;

    /// <summary>Writes the corpus, runs every case and prints the figures as Markdown; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (ParseOrExplain("wordcount", Usage, args, Options.Parse, out var exitCode) is not { } options)
        {
            return exitCode;
        }

        return await ReportFailuresAsync("wordcount", async () =>
        {
            Console.WriteLine((await MeasureAsync(options).ConfigureAwait(false)).Report);
            return 0;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// For the <c>e2e</c> verb: runs the verb with <paramref name="args"/> (its own options, e.g. <c>--size 16MiB
    /// --repetitions 3</c>) and returns the Dataflow job against the LINQ count, with the verb's report as details.
    /// </summary>
    /// <exception cref="ArgumentException">The options are wrong.</exception>
    /// <exception cref="InvalidOperationException">A case failed, or the job's output differs from the LINQ count.</exception>
    public static async Task<BenchmarkResult> CompareAsync(string[] args)
    {
        var options = Options.Parse(args);
        var measured = await MeasureAsync(options).ConfigureAwait(false);
        var seconds = measured.Results[Dataflow].Select(r => r.Seconds).ToList();
        var linqSeconds = measured.Results[Linq].Select(r => r.Seconds).ToList();
        var bytes = measured.Results[Dataflow][0].Bytes;
        var culture = CultureInfo.InvariantCulture;
        var row = Comparison.Of(
            $"word count, Dataflow job ({Environment.ProcessorCount} tasks at once)",
            seconds,
            Label(Linq),
            linqSeconds,
            string.Create(culture, $"{bytes / MiB / Median(seconds):0.0} vs {bytes / MiB / Median(linqSeconds):0.0} MiB/s; peak RSS {Median(measured.Results[Dataflow].Select(r => r.PeakRss / MiB)):0} vs {Median(measured.Results[Linq].Select(r => r.PeakRss / MiB)):0} MiB"));
        return new BenchmarkResult(
            "Word count",
            string.Create(culture, $"A {ByteSize.Format(bytes)} corpus in a local folder store ({options.Objects} objects + 1 of {ByteSize.Format(options.Large)}), counted by the word-count job (in-process JobRunner, split size {ByteSize.Format(options.SplitSize)}, {options.Reducers} reducers) and by a single-threaded LINQ count; each case in a child process after a warm-up, its output checked against the LINQ count every repetition (the `wordcount` verb; see RESULTS-WORDCOUNT.md)."),
            [row],
            measured.Report);
    }

    /// <summary>Writes the corpus in a folder of its own, runs every case, deletes the folder; returns the figures.</summary>
    private static async Task<Measured> MeasureAsync(Options options)
    {
        var folder = Path.Combine(options.StoreParent, "dataflow-bench-wordcount-" + Guid.NewGuid().ToString("N"));
        try
        {
            return await RunAllAsync(options, folder).ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Progress($"deleting {folder}");
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task<Measured> RunAllAsync(Options options, string folder)
    {
        var started = DateTimeOffset.Now;
        var loadAtStart = LoadAverage();
        Directory.CreateDirectory(folder);
        long corpusBytes;
        int corpusObjects;
        var store = ObjectStore.OpenFolder(folder);
        await using (store.ConfigureAwait(false))
        {
            var objectSize = (options.Size - options.Large) / options.Objects;
            Progress($"writing the corpus to {folder}: {options.Objects} x {ByteSize.Format(objectSize)}"
                + (options.Large > 0 ? $" + 1 x {ByteSize.Format(options.Large)}" : string.Empty) + $" (seed {Seed})");
            var clock = Stopwatch.StartNew();
            await CorpusGenerator.WriteAsync(store, InputPrefix, objectSize, options.Objects, options.Large, Seed, Environment.ProcessorCount, CancellationToken.None).ConfigureAwait(false);
            await CorpusGenerator.WriteAsync(store, WarmupPrefix, WarmupObjectSize, WarmupObjects, WarmupLargeSize, Seed + 1, Environment.ProcessorCount, CancellationToken.None).ConfigureAwait(false);
            var listed = await store.ListAllAsync(InputPrefix).ConfigureAwait(false);
            corpusBytes = listed.Sum(o => o.Size);
            corpusObjects = listed.Count;
            Progress($"wrote {corpusObjects} objects, {ByteSize.Format(corpusBytes)}, in {clock.Elapsed.TotalSeconds:0.0} s");

            var results = new Dictionary<string, List<CaseResult>>(StringComparer.Ordinal) { [Dataflow] = [], [Linq] = [] };
            Dictionary<string, long>? first = null;
            for (var rep = 1; rep <= options.Repetitions; rep++)
            {
                var countsKey = $"check/linq-r{rep}.tsv";
                var outputPrefix = $"output/r{rep}/";
                foreach (var name in rep % 2 == 1 ? new[] { Dataflow, Linq } : [Linq, Dataflow])
                {
                    var load = LoadAverage();
                    var result = await RunChildAsync(options, folder, name, outputPrefix, countsKey, rep).ConfigureAwait(false);
                    if (result.Bytes != corpusBytes)
                    {
                        throw new InvalidOperationException($"{name} (repetition {rep}) read {result.Bytes} bytes, the corpus has {corpusBytes}");
                    }

                    results[name].Add(result with { LoadBefore = load });
                    Progress($"rep {rep}/{options.Repetitions} {name,-9} {result.Bytes / MiB / result.Seconds,7:0.0} MiB/s {result.Seconds,7:0.000} s  CPU {result.CpuSeconds,7:0.0} s  "
                        + $"peak RSS {result.PeakRss / MiB,5:0} MiB  load before {load}");
                }

                // Outside the timing: the job's parts against this repetition's LINQ counts, and those against the first's.
                var expected = await ReadCountsAsync(store, countsKey).ConfigureAwait(false);
                var parts = results[Dataflow][^1].Parts;
                var problem = await WordCountProgram.CompareAsync(store, parts, expected, CancellationToken.None).ConfigureAwait(false);
                if (problem is not null)
                {
                    throw new InvalidOperationException($"repetition {rep}: the Dataflow output differs from the LINQ count: {problem}");
                }

                first ??= expected;
                if (expected.Count != first.Count || expected.Any(p => first.GetValueOrDefault(p.Key) != p.Value))
                {
                    throw new InvalidOperationException($"repetition {rep}: the LINQ count differs from the first repetition's");
                }

                Progress($"rep {rep}: the {parts.Count} output parts match the LINQ count ({expected.Count} distinct words, {expected.Values.Sum()} in all)");
                await store.DeleteAsync([.. parts, countsKey]).ConfigureAwait(false);
            }

            return new Measured(Report(options, corpusBytes, corpusObjects, first!, started, (loadAtStart, LoadAverage()), results), results);
        }
    }

    /// <summary>The child: runs one case once after a warm-up, and prints its <see cref="CaseResult"/> as JSON.</summary>
    public static async Task<int> RunCaseAsync(string[] args)
    {
        var named = ParseNamed(args);
        var name = named["case"];
        var splitSize = long.Parse(named["split-size"], NumberStyles.None, CultureInfo.InvariantCulture);
        var reducers = int.Parse(named["reducers"], NumberStyles.None, CultureInfo.InvariantCulture);
        var store = ObjectStore.OpenFolder(named["folder"]);
        await using (store.ConfigureAwait(false))
        {
            // Warm-up: the same case on the small corpus (JIT, thread pool, buffer pools); its output is deleted.
            var warmupOutput = "warmup-output/";
            var warm = await RunCaseOnceAsync(store, name, WarmupPrefix, warmupOutput, reducers, WarmupSplitSize).ConfigureAwait(false);
            await store.DeleteAsync(warm.Parts).ConfigureAwait(false);

            var rssBefore = SettleMemory();
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var gen2 = GC.CollectionCount(2);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var outcome = await RunCaseOnceAsync(store, name, InputPrefix, named["output"], reducers, splitSize).ConfigureAwait(false);
            clock.Stop();
            var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            var result = new CaseResult(
                name,
                outcome.Bytes,
                clock.Elapsed.TotalSeconds,
                cpuSeconds,
                rssBefore,
                ProcessMemory.Peak(),
                GC.GetTotalAllocatedBytes(precise: true) - allocated,
                GC.CollectionCount(2) - gen2,
                outcome.Tasks,
                outcome.Parts,
                LoadBefore: string.Empty);

            if (outcome.Counts is { } counts)
            {
                // For the parent's check, after the timing: word<TAB>count lines.
                await store.PutAsync(named["counts"], Encoding.UTF8.GetBytes(FormatCounts(counts))).ConfigureAwait(false);
            }

            PrintResult(result);
            return 0;
        }
    }

    private static async Task<Outcome> RunCaseOnceAsync(IObjectStore store, string name, string input, string output, int reducers, long splitSize)
    {
        switch (name)
        {
            case Dataflow:
                {
                    var job = WordCountJob.Define(input, output, reducers, splitSize, MapMemory, ReduceMemory);
                    var runner = new JobRunner(store, new JobRunnerOptions { Concurrency = Environment.ProcessorCount, Overwrite = true });
                    var result = await runner.RunAsync(job).ConfigureAwait(false);
                    return new Outcome(result.Plan.Inputs.Sum(i => i.Size), result.Summary.Tasks, [.. result.Plan.Outputs.Select(o => o.Key)], null);
                }

            case Linq:
                {
                    var objects = await store.ListAllAsync(input).ConfigureAwait(false);
                    var counts = await WordCountProgram.CountAsync(store, objects.Select(o => o.Key), CancellationToken.None).ConfigureAwait(false);
                    return new Outcome(objects.Sum(o => o.Size), 1, [], counts);
                }

            default:
                throw new ArgumentException($"unknown case '{name}'", nameof(name));
        }
    }

    private static Task<CaseResult> RunChildAsync(Options options, string folder, string name, string output, string countsKey, int rep) =>
        EndToEndRunner.RunChildAsync<CaseResult>(name, rep,
        [
            CaseVerb, "--case", name, "--folder", folder, "--output", output, "--counts", countsKey,
            "--split-size", options.SplitSize.ToString(CultureInfo.InvariantCulture), "--reducers", options.Reducers.ToString(CultureInfo.InvariantCulture),
        ]);

    private static string FormatCounts(Dictionary<string, long> counts)
    {
        var text = new StringBuilder();
        foreach (var (word, count) in counts.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(word).Append('\t').Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return text.ToString();
    }

    private static async Task<Dictionary<string, long>> ReadCountsAsync(IObjectStore store, string key)
    {
        var text = Encoding.UTF8.GetString(await store.ReadAllBytesAsync(key).ConfigureAwait(false));
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            counts.Add(line[..tab], long.Parse(line.AsSpan(tab + 1), NumberStyles.None, CultureInfo.InvariantCulture));
        }

        return counts;
    }

    private static string Report(Options options, long bytes, int objects, Dictionary<string, long> counts, DateTimeOffset started, (string Start, string End) load, Dictionary<string, List<CaseResult>> results)
    {
        var culture = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(culture, $"## Word count: Dataflow job vs single-threaded LINQ ({started:yyyy-MM-dd HH:mm zzz})");
        text.AppendLine();
        text.AppendLine(Machine() + LoadAverages(load));
        var large = options.Large > 0 ? " + 1 x " + ByteSize.Format(options.Large) : string.Empty;
        text.AppendLine(culture, $"Corpus: {objects} objects, {ByteSize.Format(bytes)} ({bytes} bytes; {options.Objects} x {ByteSize.Format((options.Size - options.Large) / options.Objects)}{large}), "
            + $"{counts.Values.Sum()} words, {counts.Count} distinct; local folder store.");
        text.AppendLine(culture, $"Dataflow: in-process JobRunner, concurrency {Environment.ProcessorCount}, split size {ByteSize.Format(options.SplitSize)}, {options.Reducers} reducers, "
            + $"map and reduce memory {ByteSize.Format(MapMemory)}; its output checked against the LINQ count every repetition. "
            + $"{options.Repetitions} repetitions, alternating which case goes first, each case in a child process after a warm-up on a {ByteSize.Format(WarmupObjects * WarmupObjectSize + WarmupLargeSize)} corpus.");
        text.AppendLine();
        text.AppendLine("| Case | Median s | Min-max s | Median MiB/s | CPU s (median) | CPU / wall | Peak RSS median (max) | Allocated (median) | Gen 2 GCs | Tasks |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var name in new[] { Linq, Dataflow })
        {
            var list = results[name];
            var seconds = list.Select(r => r.Seconds).ToList();
            text.AppendLine(culture,
                $"| {Label(name)} | {Median(seconds):0.000} | {seconds.Min():0.000}-{seconds.Max():0.000} | {Median(list.Select(r => r.Bytes / MiB / r.Seconds)):0.0} "
                + $"| {Median(list.Select(r => r.CpuSeconds)):0.0} | {Median(list.Select(r => r.CpuSeconds / r.Seconds)):0.00} "
                + $"| {Median(list.Select(r => r.PeakRss / MiB)):0} MiB ({list.Max(r => r.PeakRss) / MiB:0} MiB) | {Median(list.Select(r => r.Allocated / MiB)):0} MiB "
                + $"| {Median(list.Select(r => (double)r.Gen2Collections)):0} | {list[0].Tasks} |");
        }

        text.AppendLine();
        double MedianSpeed(string name) => Median(results[name].Select(r => r.Bytes / MiB / r.Seconds));

        // The two cases of a repetition run back to back, so their ratio shares that moment's load.
        var paired = Median(results[Dataflow].Zip(results[Linq], (d, l) => l.Seconds / d.Seconds));
        text.AppendLine(culture, $"- throughput, Dataflow / LINQ (MiB/s, medians): **{MedianSpeed(Dataflow) / MedianSpeed(Linq):0.00}** "
            + $"({MedianSpeed(Dataflow):0.0} vs {MedianSpeed(Linq):0.0} MiB/s; median of the per-repetition ratios: {paired:0.00})");
        text.AppendLine(culture, $"- CPU time over the count (all threads, medians), Dataflow / LINQ: {Median(results[Dataflow].Select(r => r.CpuSeconds)) / Median(results[Linq].Select(r => r.CpuSeconds)):0.00}; "
            + $"a CPU / wall well under the threads a case can use means it waited for cores (other load) or for I/O");
        text.AppendLine();
        text.AppendLine("Every repetition (seconds, in the order run; the 1-minute load average just before each case in brackets):");
        text.AppendLine();
        foreach (var name in new[] { Linq, Dataflow })
        {
            text.AppendLine(culture, $"- {Label(name)}: {string.Join(", ", results[name].Select(r => $"{r.Seconds.ToString("0.000", culture)} [{r.LoadBefore.Split(' ')[0]}]"))}");
        }

        return text.ToString();
    }

    private static string Label(string name) => name switch
    {
        Linq => "LINQ count, 1 thread (baseline)",
        Dataflow => "Dataflow job, all cores",
        _ => name,
    };

    private static void Progress(string message) => Console.Error.WriteLine("wordcount: " + message);

    /// <summary>The report of a run of the verb, and the figures it shows.</summary>
    private sealed record Measured(string Report, Dictionary<string, List<CaseResult>> Results);

    /// <summary>What one timed count did.</summary>
    private sealed record Outcome(long Bytes, int Tasks, IReadOnlyList<string> Parts, Dictionary<string, long>? Counts);

    private sealed record Options(long Size, int Objects, long Large, long SplitSize, int Reducers, int Repetitions, string StoreParent, bool Help) : IVerbOptions
    {
        public static Options Parse(string[] args)
        {
            if (args.Any(a => a is "-h" or "--help"))
            {
                return new Options(0, 0, 0, 0, 0, 0, string.Empty, Help: true);
            }

            var named = ParseOptions(args, "size", "objects", "large", "split-size", "reducers", "repetitions", "store");

            // The shape of the default run (200 MiB: 64 objects + 96 MiB, 64 MiB splits) at any --size: the large
            // object about half the corpus and cut in two by the split size, the small ones grouped.
            var size = named.TryGetValue("size", out var s) ? ByteSize.Parse(s) : DefaultSize;
            var options = new Options(
                size,
                named.TryGetValue("objects", out var o) ? int.Parse(o, NumberStyles.None, CultureInfo.InvariantCulture) : 64,
                named.TryGetValue("large", out var l) ? ByteSize.Parse(l) : Scale(size, 96L << 20),
                named.TryGetValue("split-size", out var ss) ? ByteSize.Parse(ss) : Scale(size, 64L << 20),
                named.TryGetValue("reducers", out var r) ? int.Parse(r, NumberStyles.None, CultureInfo.InvariantCulture) : 8,
                named.TryGetValue("repetitions", out var n) ? int.Parse(n, NumberStyles.None, CultureInfo.InvariantCulture) : 3,
                named.TryGetValue("store", out var dir) ? Path.GetFullPath(dir) : Path.GetTempPath(),
                Help: false);
            if (options.Objects < 1 || options.Reducers is < 1 or > 10_000 || options.Repetitions < 1)
            {
                throw new ArgumentException("--objects and --repetitions must be at least 1, --reducers between 1 and 10,000");
            }

            if (options.SplitSize < 1024)
            {
                throw new ArgumentException("--split-size must be at least 1KiB");
            }

            if ((options.Size - options.Large) / options.Objects < 1024)
            {
                throw new ArgumentException($"--size must leave at least 1KiB per object after --large: {ByteSize.Format(options.Size)} - {ByteSize.Format(options.Large)} over {options.Objects} objects");
            }

            if (!Directory.Exists(options.StoreParent))
            {
                throw new ArgumentException($"--store: '{options.StoreParent}' is not a folder");
            }

            return options;
        }

        /// <summary>A default sized for <paramref name="size"/> as <paramref name="atDefault"/> is for the default size, rounded down to KiB.</summary>
        private static long Scale(long size, long atDefault) => (long)((double)size / DefaultSize * atDefault) / 1024 * 1024;
    }

    /// <summary>What one child measured: one timed count.</summary>
    /// <param name="Case">The case's name.</param>
    /// <param name="Bytes">Bytes of the corpus the case read (the plan's inputs, or the objects listed).</param>
    /// <param name="Seconds">Wall time of the count (listing, planning and publishing included for the job).</param>
    /// <param name="CpuSeconds">User and system CPU time of the child over the count, all threads.</param>
    /// <param name="RssBefore">Resident memory after the warm-up and a full GC, just before the count.</param>
    /// <param name="PeakRss">The peak resident memory during the count.</param>
    /// <param name="Allocated">Managed bytes allocated during the count (all threads).</param>
    /// <param name="Gen2Collections">Generation-2 collections during the count.</param>
    /// <param name="Tasks">Tasks of the job's plan (1 for the LINQ count).</param>
    /// <param name="Parts">The job's output parts (none for the LINQ count).</param>
    /// <param name="LoadBefore">The load averages just before the parent started the child (set by the parent).</param>
    internal sealed record CaseResult(
        string Case, long Bytes, double Seconds, double CpuSeconds, long RssBefore, long PeakRss, long Allocated, int Gen2Collections, int Tasks, IReadOnlyList<string> Parts, string LoadBefore);
}
