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
/// against two single-threaded counts of the same corpus in a local folder store — the straightforward LINQ count
/// (<see cref="LinqCountAsync"/>) and a <c>Dictionary&lt;string, long&gt;</c> loop (<see cref="WordCountProgram.CountAsync"/>)
/// — and, as whole processes, the word-count program as a user runs it (<c>word-count run</c>: start-up, the job, its
/// default check) against the Dictionary loop in a fresh process. The corpus is written once; each repetition then
/// runs every case, alternating the order, each in a process of its own (the in-process cases in this program with
/// the internal verb <see cref="CaseVerb"/>), so that JIT, GC and memory state do not leak from one case into the
/// next. An in-process case warms up on a small corpus with the same code paths, collects garbage, then times one
/// count; a whole-process case is timed from its start to its exit, cold. After each repetition the parent checks
/// both programs' output parts against that repetition's LINQ counts (<see cref="WordCountProgram.CompareAsync"/>),
/// and the Dictionary counts against them.
/// </summary>
/// <remarks>One concept, kept in one file: the word-count benchmark verb, its child-process cases and their checks.</remarks>
internal static partial class WordCountRunner
{
    /// <summary>The internal verb that runs one case in a child process.</summary>
    public const string CaseVerb = "wordcount-case";

    private const string Dataflow = "dataflow";
    private const string Linq = "linq";
    private const string Dictionary = "dictionary";
    private const string Program = "program";
    private const string ProgramAot = "program-aot";
    private const string DictionaryProcess = "dictionary-process";

    private static readonly string[] s_cases = [Dataflow, Linq, Dictionary, Program, ProgramAot, DictionaryProcess];
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
        Each case runs in a process of its own; the Dataflow job uses every core (Environment.ProcessorCount), the LINQ
        and Dictionary counts one. Whole processes: `word-count run` (its default check included) and the Dictionary loop.
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
        var results = measured.Results;
        List<double> Seconds(string name) => [.. results[name].Select(r => r.Seconds)];
        var bytes = results[Dataflow][0].Bytes;
        var culture = CultureInfo.InvariantCulture;
        string Speeds(string name, string baseline) =>
            string.Create(culture, $"{bytes / MiB / Median(Seconds(name)):0.0} vs {bytes / MiB / Median(Seconds(baseline)):0.0} MiB/s; peak RSS {Median(results[name].Select(r => r.PeakRss / MiB)):0} vs {Median(results[baseline].Select(r => r.PeakRss / MiB)):0} MiB");
        Comparison Row(string name, string caseLabel, string baseline, string note) => Comparison.Of(caseLabel, Seconds(name), Label(baseline), Seconds(baseline), note);
        var share = CheckShare(results[Program]);
        var aotShare = CheckShare(results[ProgramAot]);
        return new BenchmarkResult(
            "Word count",
            string.Create(culture, $"A {ByteSize.Format(bytes)} corpus in a local folder store ({options.Objects} objects + 1 of {ByteSize.Format(options.Large)}), counted by the word-count program as a whole process (`word-count run`, split size {ByteSize.Format(options.SplitSize)}, {options.Reducers} reducers, its default check included) against a single-threaded Dictionary<string,long> loop in a fresh process, by its JIT build (the apphost of `dotnet build -c Release`) and by its Native AOT build (deploy/Dockerfile's publish command); and by the word-count job in-process (JobRunner) against the Dictionary loop and a single-threaded LINQ count, each in a child process after a warm-up. Every output is checked against the LINQ count every repetition (the `wordcount` verb; see RESULTS-WORDCOUNT.md)."),
            [
                Row(Program, "word count, `word-count run` as a whole process (start-up, job, default check)", DictionaryProcess,
                    string.Create(culture, $"{Speeds(Program, DictionaryProcess)}; the check {share.Seconds:0.000} s, {share.Share:P1} of the run (target ≥ 1.5× and ≤ 10 %)")),
                Row(ProgramAot, "word count, `word-count run` (Native AOT) as a whole process (start-up, job, default check)", DictionaryProcess,
                    string.Create(culture, $"{Speeds(ProgramAot, DictionaryProcess)}; the check {aotShare.Seconds:0.000} s, {aotShare.Share:P1} of the run (target ≥ 1.5× and ≤ 10 %)")),
                Row(Dataflow, $"word count, Dataflow job in-process ({Environment.ProcessorCount} tasks at once)", Dictionary, Speeds(Dataflow, Dictionary)),
                Row(Dataflow, $"word count, Dataflow job in-process ({Environment.ProcessorCount} tasks at once)", Linq, Speeds(Dataflow, Linq)),
            ],
            measured.Report);
    }

    /// <summary>The median time of the program's check and the median of its share of each whole run.</summary>
    private static (double Seconds, double Share) CheckShare(List<CaseResult> program) =>
        (Median(program.Select(r => r.CheckSeconds)), Median(program.Select(r => r.CheckSeconds / r.Seconds)));

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
        // Published first, so that its minutes of compiling load no timed case.
        var aot = await FixedCostCases.PublishAotAsync("word-count").ConfigureAwait(false);
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

            var results = s_cases.ToDictionary(c => c, _ => new List<CaseResult>(), StringComparer.Ordinal);
            Dictionary<string, long>? first = null;
            for (var rep = 1; rep <= options.Repetitions; rep++)
            {
                foreach (var name in rep % 2 == 1 ? s_cases : s_cases.Reverse())
                {
                    var load = LoadAverage();
                    var countsKey = $"check/{name}-r{rep}.tsv";
                    var output = $"output/r{rep}-{name}/";
                    var result = name is Program or ProgramAot
                        ? await RunProgramAsync(options, folder, store, output, rep, name == ProgramAot ? aot : null).ConfigureAwait(false)
                        : await RunChildAsync(options, folder, name, output, countsKey, rep).ConfigureAwait(false);
                    if (result.Bytes != corpusBytes)
                    {
                        throw new InvalidOperationException($"{name} (repetition {rep}) read {result.Bytes} bytes, the corpus has {corpusBytes}");
                    }

                    results[name].Add(result with { LoadBefore = load });
                    Progress($"rep {rep}/{options.Repetitions} {name,-18} {result.Bytes / MiB / result.Seconds,7:0.0} MiB/s {result.Seconds,7:0.000} s  CPU {result.CpuSeconds,7:0.0} s  "
                        + $"peak RSS {result.PeakRss / MiB,5:0} MiB{(name is Program or ProgramAot ? $"  check {result.CheckSeconds:0.000} s" : string.Empty)}  load before {load}");
                }

                // Outside the timing: both programs' parts against this repetition's LINQ counts, and the other counts against those.
                var expected = await ReadCountsAsync(store, $"check/{Linq}-r{rep}.tsv").ConfigureAwait(false);
                foreach (var name in new[] { Dataflow, Program, ProgramAot })
                {
                    var problem = await WordCountProgram.CompareAsync(store, results[name][^1].Parts, expected, CancellationToken.None).ConfigureAwait(false);
                    if (problem is not null)
                    {
                        throw new InvalidOperationException($"repetition {rep}: the output of {Label(name)} differs from the LINQ count: {problem}");
                    }
                }

                first ??= expected;
                foreach (var (name, counts) in new[] { ("the LINQ count", expected), (Label(Dictionary), await ReadCountsAsync(store, $"check/{Dictionary}-r{rep}.tsv").ConfigureAwait(false)), (Label(DictionaryProcess), await ReadCountsAsync(store, $"check/{DictionaryProcess}-r{rep}.tsv").ConfigureAwait(false)) })
                {
                    if (counts.Count != first.Count || counts.Any(p => first.GetValueOrDefault(p.Key) != p.Value))
                    {
                        throw new InvalidOperationException($"repetition {rep}: {name} differs from the first repetition's LINQ count");
                    }
                }

                Progress($"rep {rep}: the output parts match the LINQ count ({expected.Count} distinct words, {expected.Values.Sum()} in all), as the Dictionary counts do");
                await store.DeleteAsync([.. results[Dataflow][^1].Parts, .. results[Program][^1].Parts, .. results[ProgramAot][^1].Parts, .. s_cases.Select(c => $"check/{c}-r{rep}.tsv")]).ConfigureAwait(false);
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
        var cold = named.TryGetValue("cold", out var c) && c == "true";
        var store = ObjectStore.OpenFolder(named["folder"]);
        await using (store.ConfigureAwait(false))
        {
            var rssBefore = 0L;
            if (!cold)
            {
                // Warm-up: the same case on the small corpus (JIT, thread pool, buffer pools); its output is deleted.
                var warmupOutput = "warmup-output/";
                var warm = await RunCaseOnceAsync(store, name, WarmupPrefix, warmupOutput, reducers, WarmupSplitSize).ConfigureAwait(false);
                await store.DeleteAsync(warm.Parts).ConfigureAwait(false);
                rssBefore = SettleMemory();
            }

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
            case Dictionary:
            case DictionaryProcess:
                {
                    var objects = await store.ListAllAsync(input).ConfigureAwait(false);
                    var keys = objects.Select(o => o.Key);
                    var counts = name == Linq
                        ? await LinqCountAsync(store, keys).ConfigureAwait(false)
                        : await WordCountProgram.CountAsync(store, keys, CancellationToken.None).ConfigureAwait(false);
                    return new Outcome(objects.Sum(o => o.Size), 1, [], counts);
                }

            default:
                throw new ArgumentException($"unknown case '{name}'", nameof(name));
        }
    }

    /// <summary>
    /// A case in a child process: an in-process case is timed by the child (after its warm-up); the whole-process
    /// Dictionary loop starts cold and is timed here, from its start to its exit.
    /// </summary>
    private static async Task<CaseResult> RunChildAsync(Options options, string folder, string name, string output, string countsKey, int rep)
    {
        var clock = Stopwatch.StartNew();
        var result = await EndToEndRunner.RunChildAsync<CaseResult>(name, rep,
        [
            CaseVerb, "--case", name, "--folder", folder, "--output", output, "--counts", countsKey, "--cold", name == DictionaryProcess ? "true" : "false",
            "--split-size", options.SplitSize.ToString(CultureInfo.InvariantCulture), "--reducers", options.Reducers.ToString(CultureInfo.InvariantCulture),
        ]).ConfigureAwait(false);
        return name == DictionaryProcess ? result with { Seconds = clock.Elapsed.TotalSeconds } : result;
    }

    /// <summary>
    /// <c>word-count run</c> as a user runs it (the apphost built next to this program), timed from its start to its
    /// exit; its peak RSS from GNU time when installed; its check's time from what it prints (<c>checked in … s</c>).
    /// </summary>
    private static async Task<CaseResult> RunProgramAsync(Options options, string folder, IObjectStore store, string output, int rep, string? nativeProgram)
    {
        var name = nativeProgram is null ? Program : ProgramAot;
        var memory = Path.Combine(folder, $"{name}-r{rep}.rss");
        var start = ProcessTimer.Measured(nativeProgram is null ? ProcessTimer.Example("word-count", []) : ProcessTimer.Of(nativeProgram), memory,
        [
            "run", "--store", folder, "--input", InputPrefix, "--output", output, "--progress", "none", "--json",
            "--split-size", options.SplitSize.ToString(CultureInfo.InvariantCulture), "--reducers", options.Reducers.ToString(CultureInfo.InvariantCulture),
        ]);
        var (seconds, summary, errors) = await ProcessTimer.RunCapturedAsync($"{name} run (repetition {rep})", start).ConfigureAwait(false);
        var check = CheckedIn().Match(errors);
        if (!summary.Contains("\"verified\":true", StringComparison.Ordinal) || !check.Success)
        {
            throw new InvalidOperationException($"{name}: word-count run (repetition {rep}) did not verify its output: {errors}");
        }

        var inputs = await store.ListAllAsync(InputPrefix).ConfigureAwait(false);
        var parts = (await store.ListAllAsync(output).ConfigureAwait(false)).Select(o => o.Key).ToList();
        using var json = System.Text.Json.JsonDocument.Parse(summary[summary.IndexOf('{', StringComparison.Ordinal)..]);
        return new CaseResult(name, inputs.Sum(o => o.Size), seconds, double.NaN, 0, ProcessTimer.PeakKib(memory) * 1024, -1, -1,
            json.RootElement.GetProperty("tasks").GetInt32(), parts, LoadBefore: string.Empty, CheckSeconds: double.Parse(check.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"checked in ([0-9]+\.[0-9]+) s")]
    private static partial System.Text.RegularExpressions.Regex CheckedIn();

    /// <summary>The straightforward count, the first baseline: every line of every object kept, one object at a time, words grouped with LINQ.</summary>
    private static async Task<Dictionary<string, long>> LinqCountAsync(IObjectStore store, IEnumerable<string> keys)
    {
        var lines = new List<string>();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            lines.Clear();
            var stream = await store.OpenReadAsync(key).ConfigureAwait(false);
            using (var reader = new StreamReader(stream, Encoding.UTF8))
            {
                while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
                {
                    lines.Add(line);
                }
            }

            foreach (var group in lines.SelectMany(Words.Of).GroupBy(w => w, StringComparer.Ordinal))
            {
                counts[group.Key] = counts.GetValueOrDefault(group.Key) + group.LongCount();
            }
        }

        return counts;
    }

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
        text.AppendLine(culture, $"## Word count: the program and the Dataflow job vs single-threaded Dictionary and LINQ counts ({started:yyyy-MM-dd HH:mm zzz})");
        text.AppendLine();
        text.AppendLine(Machine() + LoadAverages(load));
        var large = options.Large > 0 ? " + 1 x " + ByteSize.Format(options.Large) : string.Empty;
        text.AppendLine(culture, $"Corpus: {objects} objects, {ByteSize.Format(bytes)} ({bytes} bytes; {options.Objects} x {ByteSize.Format((options.Size - options.Large) / options.Objects)}{large}), "
            + $"{counts.Values.Sum()} words, {counts.Count} distinct; local folder store.");
        text.AppendLine(culture, $"Dataflow: concurrency {Environment.ProcessorCount}, split size {ByteSize.Format(options.SplitSize)}, {options.Reducers} reducers, "
            + $"map and reduce memory {ByteSize.Format(MapMemory)}; every output checked against the LINQ count every repetition. "
            + $"{options.Repetitions} repetitions, alternating the order of the cases. In-process cases: a child process each, timed after a warm-up on a {ByteSize.Format(WarmupObjects * WarmupObjectSize + WarmupLargeSize)} corpus. "
            + $"Whole-process cases: timed from start to exit, cold (`word-count run` is the apphost a build makes, run as a user runs it, or the Native AOT program; peak RSS from GNU time).");
        text.AppendLine();
        text.AppendLine("| Case | Median s | Min-max s | Median MiB/s | CPU s (median) | CPU / wall | Peak RSS median (max) | Allocated (median) | Gen 2 GCs | Tasks |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var name in new[] { DictionaryProcess, Program, ProgramAot, Linq, Dictionary, Dataflow })
        {
            var list = results[name];
            var seconds = list.Select(r => r.Seconds).ToList();
            var measuredInside = name is not (Program or ProgramAot);
            var cpu = measuredInside ? string.Create(culture, $"{Median(list.Select(r => r.CpuSeconds)):0.0} | {Median(list.Select(r => r.CpuSeconds / r.Seconds)):0.00}") : "— | —";
            var allocated = measuredInside ? string.Create(culture, $"{Median(list.Select(r => r.Allocated / MiB)):0} MiB | {Median(list.Select(r => (double)r.Gen2Collections)):0}") : "— | —";
            text.AppendLine(culture,
                $"| {Label(name)} | {Median(seconds):0.000} | {seconds.Min():0.000}-{seconds.Max():0.000} | {Median(list.Select(r => r.Bytes / MiB / r.Seconds)):0.0} "
                + $"| {cpu} | {Median(list.Select(r => r.PeakRss / MiB)):0} MiB ({list.Max(r => r.PeakRss) / MiB:0} MiB) | {allocated} | {list[0].Tasks} |");
        }

        text.AppendLine();
        double MedianSpeed(string name) => Median(results[name].Select(r => r.Bytes / MiB / r.Seconds));
        void Ratio(string label, string name, string baseline)
        {
            // The cases of a repetition run back to back, so their ratio shares that moment's load.
            var paired = Median(results[name].Zip(results[baseline], (d, l) => l.Seconds / d.Seconds));
            text.AppendLine(culture, $"- {label}: **{MedianSpeed(name) / MedianSpeed(baseline):0.00}** "
                + $"({MedianSpeed(name):0.0} vs {MedianSpeed(baseline):0.0} MiB/s; median of the per-repetition ratios: {paired:0.00})");
        }

        Ratio("whole process, `word-count run` / the Dictionary loop (MiB/s, medians; target ≥ 1.5)", Program, DictionaryProcess);
        var share = CheckShare(results[Program]);
        text.AppendLine(culture, $"- the program's default check: {share.Seconds:0.000} s (median), **{share.Share:P1}** of its whole run (median of the per-repetition shares; target ≤ 10 %)");
        Ratio("whole process, `word-count run` (Native AOT) / the Dictionary loop (MiB/s, medians; target ≥ 1.5)", ProgramAot, DictionaryProcess);
        var aotShare = CheckShare(results[ProgramAot]);
        text.AppendLine(culture, $"- the Native AOT program's default check: {aotShare.Seconds:0.000} s (median), **{aotShare.Share:P1}** of its whole run (target ≤ 10 %)");
        Ratio("in-process, Dataflow job / the Dictionary loop", Dataflow, Dictionary);
        Ratio("in-process, Dataflow job / the LINQ count", Dataflow, Linq);
        text.AppendLine(culture, $"- CPU time over the count (all threads, medians), Dataflow / Dictionary: {Median(results[Dataflow].Select(r => r.CpuSeconds)) / Median(results[Dictionary].Select(r => r.CpuSeconds)):0.00}, "
            + $"Dataflow / LINQ: {Median(results[Dataflow].Select(r => r.CpuSeconds)) / Median(results[Linq].Select(r => r.CpuSeconds)):0.00}; a CPU / wall well under the threads a case can use means it waited for cores (other load) or for I/O");
        text.AppendLine();
        text.AppendLine("Every repetition (seconds, in the order run; the 1-minute load average just before each case in brackets):");
        text.AppendLine();
        foreach (var name in new[] { DictionaryProcess, Program, ProgramAot, Linq, Dictionary, Dataflow })
        {
            text.AppendLine(culture, $"- {Label(name)}: {string.Join(", ", results[name].Select(r => $"{r.Seconds.ToString("0.000", culture)} [{r.LoadBefore.Split(' ')[0]}]"))}");
        }

        text.AppendLine(culture, $"- the program's check: {string.Join(", ", results[Program].Select(r => r.CheckSeconds.ToString("0.000", culture)))}");
        text.AppendLine(culture, $"- the Native AOT program's check: {string.Join(", ", results[ProgramAot].Select(r => r.CheckSeconds.ToString("0.000", culture)))}");
        return text.ToString();
    }

    private static string Label(string name) => name switch
    {
        Linq => "LINQ count, 1 thread (baseline)",
        Dictionary => "Dictionary<string,long> loop, 1 thread (baseline)",
        DictionaryProcess => "Dictionary<string,long> loop, 1 thread, whole process (baseline)",
        Program => "`word-count run`, whole process (job + default check)",
        ProgramAot => "`word-count run` (Native AOT), whole process (job + default check)",
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
    /// <param name="CheckSeconds">For the program: the time its check took, as it says.</param>
    internal sealed record CaseResult(
        string Case, long Bytes, double Seconds, double CpuSeconds, long RssBefore, long PeakRss, long Allocated, int Gen2Collections, int Tasks, IReadOnlyList<string> Parts, string LoadBefore, double CheckSeconds = 0);
}
