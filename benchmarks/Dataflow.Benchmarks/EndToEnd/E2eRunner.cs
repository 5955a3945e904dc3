using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dataflow.Benchmarks.S3;
using Dataflow.Benchmarks.WordCount;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// The <c>e2e</c> verb: whole runs against baselines measured in the same run — the seed cascade against a bash
/// cascade of <c>cat</c>, a big merge against one <c>cat</c>, word count against a single-threaded LINQ count, S3
/// transfers and compose against TransferUtility and download-concatenate-upload, and the process executor's merges
/// against the same merges on the local executor, the task cache's warm and changed runs against its cold run — each timed over several
/// repetitions, alternating which goes first, and reported as medians and ratios in Markdown. Every output is
/// checked; a wrong one fails the verb (exit code 1).
/// </summary>
internal static class E2eRunner
{
    private const string Seed = "seed";
    private const string BigMerge = "bigmerge";
    private const string WordCount = "wordcount";
    private const string S3 = "s3";
    private const string FixedCosts = "fixed";
    private const string Process = "process";
    private const string SortedMerge = "sortedmerge";
    private const string Cache = "cache";
    private const string Ui = "ui";
    private const string Stragglers = "stragglers";

    private static readonly string[] s_benchmarks = [Seed, BigMerge, WordCount, S3, FixedCosts, Process, SortedMerge, Cache, Ui, Stragglers];

    private const string Usage = """
        usage: Dataflow.Benchmarks e2e [--quick] [--repetitions N] [--only seed,bigmerge,wordcount,s3,fixed,process,sortedmerge,cache,ui,stragglers] [--store DIR]
          --quick        CI-sized: big merge 128 x 1MiB, word count 8MiB, S3 16MiB and 3 x 5MiB; 3 repetitions each
                         (full: big merge 512 x 8MiB, word count 200MiB, S3 256MiB and 16 x 12MiB; repetitions
                         9 seed, 5 big merge, 3 word count, 5 S3, 5 process)
                         process: the seed cascade and a fan-in 4 merge of 300 objects with --executor process
                         against the local executor, the same in both modes
                         sortedmerge: the sorted-merge example's typed reduce tree (widths 75,19,5,1) of 300 sorted
                         objects against one 300-way merge of the same objects (widths 1) and against the same
                         tree passing text between levels; full: 5,000 numbers an object on average, and both
                         again as Native AOT programs (published first); quick: 500, JIT only
                         cache: the task cache, cold (--cache on, the baseline) against warm and against one input
                         changed, and --cache off: the seed cascade on the local and the process executor and over
                         512 x 64KiB objects, word count of 65 x 1MiB (one map task each); quick: no 64KiB cascade,
                         word count of 65 x 128KiB, 2 repetitions (full: 5)
                         ui: a fresh ui server's first answer on a synthesized 1,000,013-task run and its reading of
                         every commit record, against status's read of the run and reading report.json; quick:
                         100,013 tasks
                         stragglers: a 128-object seed cascade whose task 3/0 sleeps 10 s on its first attempt:
                         no straggler against the straggler with and without speculation, local and process executors
          --repetitions  runs of every case (overrides the defaults above); medians are reported
          --only         the benchmarks to run, comma-separated (default: all); fixed (start-up, per-task and
                         per-process costs, Native AOT against JIT) publishes merge-files as Native AOT first
          --store        the folder under which the temporary folders are made (default: the system's temp folder)
        The S3 benchmark runs only with the S3 test server's variables set (eval "$(scripts/s3-test-server.sh env)");
        otherwise it is skipped, and the report says so. Speed-up = baseline time / Dataflow time (above 1: Dataflow faster).
        """;

    /// <summary>Runs the chosen benchmarks and prints the report as Markdown on the standard output; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (ParseOrExplain("e2e", Usage, args, Options.Parse, out var exitCode) is not { } options)
        {
            return exitCode;
        }

        var work = Path.Combine(options.StoreParent, "dataflow-bench-e2e-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            return await ReportFailuresAsync("e2e", () => RunAllAsync(options, work, args)).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<int> RunAllAsync(Options options, string work, string[] args)
    {
        var started = DateTimeOffset.Now;
        var loadAtStart = LoadAverage();
        var clock = Stopwatch.StartNew();
        var results = new List<BenchmarkResult>();
        var skipped = new List<string>();
        foreach (var benchmark in options.Only)
        {
            var repetitions = options.Repetitions ?? (options.Quick ? (benchmark == Cache ? 2 : 3) : benchmark switch { Seed => 9, BigMerge => 5, WordCount => 3, _ => 5 });
            var reps = repetitions.ToString(CultureInfo.InvariantCulture);
            Console.Error.WriteLine($"e2e: {benchmark}, {repetitions} repetitions");
            switch (benchmark)
            {
                case Seed:
                    results.Add(await MergeCases.SeedCascadeAsync(work, 512, repetitions).ConfigureAwait(false));
                    break;
                case BigMerge:
                    results.Add(options.Quick
                        ? await BigMergeCase.RunAsync(work, 128, 1L << 20, repetitions, nativeAot: false).ConfigureAwait(false)
                        : await BigMergeCase.RunAsync(work, 512, 8L << 20, repetitions, nativeAot: true).ConfigureAwait(false));
                    break;
                case FixedCosts:
                    results.Add(await FixedCostCases.FixedCostsAsync(work, repetitions).ConfigureAwait(false));
                    break;
                case Process:
                    results.Add(await ProcessCases.CompareAsync(work, repetitions).ConfigureAwait(false));
                    break;
                case SortedMerge:
                    results.Add(await SortedMergeCases.CompareAsync(work, options.Quick ? 500 : 5000, repetitions, nativeAot: !options.Quick).ConfigureAwait(false));
                    break;
                case Cache:
                    results.Add(await CacheCases.CompareAsync(work, repetitions, options.Quick).ConfigureAwait(false));
                    break;
                case Ui:
                    results.Add(await UiCases.CompareAsync(work, repetitions, options.Quick).ConfigureAwait(false));
                    break;
                case Stragglers:
                    results.Add(await StragglerCases.CompareAsync(work, repetitions).ConfigureAwait(false));
                    break;
                case WordCount:
                    results.Add(await WordCountRunner.CompareAsync(
                        [.. options.Quick ? ["--size", "8MiB"] : Array.Empty<string>(), "--repetitions", reps, "--store", work]).ConfigureAwait(false));
                    break;
                default:
                    if (S3Unavailable() is { } why)
                    {
                        skipped.Add("S3: skipped, " + why);
                        Console.Error.WriteLine("e2e: S3 skipped: " + why);
                        break;
                    }

                    results.Add(await S3Runner.CompareAsync(
                        [.. options.Quick ? ["--size", "16MiB", "--pieces", "3", "--piece-size", "5MiB"] : Array.Empty<string>(), "--repetitions", reps]).ConfigureAwait(false));
                    break;
            }
        }

        Console.WriteLine(Report(options, args, started, clock.Elapsed, (loadAtStart, LoadAverage()), results, skipped));
        return 0;
    }

    /// <summary>Why the S3 benchmark cannot run here, or <see langword="null"/> when it can.</summary>
    private static string? S3Unavailable()
    {
        try
        {
            _ = S3BenchServer.FromEnvironment();
            return null;
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }
    }

    private static string Report(Options options, string[] args, DateTimeOffset started, TimeSpan took, (string Start, string End) load, List<BenchmarkResult> results, List<string> skipped)
    {
        var culture = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(culture, $"# End-to-end benchmarks ({started:yyyy-MM-dd HH:mm zzz}, {(options.Quick ? "quick" : "full")} mode)");
        text.AppendLine();
        text.AppendLine(culture, $"`{string.Join(' ', ["Dataflow.Benchmarks", "e2e", .. args])}`; took {took.TotalSeconds:0} s.");
        text.AppendLine(Machine() + LoadAverages(load));
        text.AppendLine("Medians over the repetitions; each repetition runs the Dataflow case and its baseline back to back, alternating which goes first. "
            + "Speed-up = baseline median / Dataflow median (above 1: Dataflow is faster); per-rep = the median of the per-repetition speed-ups.");
        foreach (var line in skipped)
        {
            text.AppendLine();
            text.AppendLine(line);
        }

        foreach (var result in results)
        {
            text.AppendLine();
            text.AppendLine(culture, $"## {result.Title}");
            text.AppendLine();
            text.AppendLine(result.Setup);
            text.AppendLine();
            text.AppendLine("| Dataflow | median s | baseline | median s | speed-up | per-rep | note |");
            text.AppendLine("|---|---:|---|---:|---:|---:|---|");
            foreach (var row in result.Rows)
            {
                text.AppendLine(culture, $"| {row.Case} | {row.Seconds:0.000} | {row.Baseline} | {row.BaselineSeconds:0.000} | **{row.SpeedUp:0.00}x** | {row.PairedSpeedUp:0.00}x | {row.Note} |");
            }
        }

        text.AppendLine();
        text.AppendLine("## Ratios");
        text.AppendLine();
        foreach (var result in results)
        {
            foreach (var row in result.Rows)
            {
                text.AppendLine(culture, $"- ratio, {result.Title.ToLowerInvariant()}: {row.Case} vs {row.Baseline}: {row.SpeedUp:0.00}x ({row.Seconds:0.000} s vs {row.BaselineSeconds:0.000} s)");
            }
        }

        foreach (var result in results.Where(r => r.Details.Length > 0))
        {
            text.AppendLine();
            text.AppendLine(culture, $"## Details: {result.Title}");
            text.AppendLine();
            text.Append(("\n" + result.Details).Replace("\n## ", "\n### ", StringComparison.Ordinal)[1..]);
        }

        return text.ToString();
    }

    private sealed record Options(bool Quick, int? Repetitions, IReadOnlyList<string> Only, string StoreParent, bool Help) : IVerbOptions
    {
        public static Options Parse(string[] args)
        {
            if (args.Any(a => a is "-h" or "--help"))
            {
                return new Options(false, null, [], string.Empty, Help: true);
            }

            var quick = args.Contains("--quick", StringComparer.Ordinal);
            var named = ParseOptions([.. args.Where(a => a != "--quick")], "repetitions", "only", "store");
            int? repetitions = named.TryGetValue("repetitions", out var r) ? int.Parse(r, NumberStyles.None, CultureInfo.InvariantCulture) : null;
            if (repetitions is < 1)
            {
                throw new ArgumentException("--repetitions must be at least 1");
            }

            var only = named.TryGetValue("only", out var o) ? o.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : s_benchmarks;
            if (only.FirstOrDefault(b => !s_benchmarks.Contains(b, StringComparer.Ordinal)) is { } unknown)
            {
                throw new ArgumentException($"--only: unknown benchmark '{unknown}'; use {string.Join(", ", s_benchmarks)}");
            }

            var parent = named.TryGetValue("store", out var dir) ? Path.GetFullPath(dir) : Path.GetTempPath();
            if (!Directory.Exists(parent))
            {
                throw new ArgumentException($"--store: '{parent}' is not a folder");
            }

            // In the order of s_benchmarks, whatever the order given.
            return new Options(quick, repetitions, [.. s_benchmarks.Where(only.Contains)], parent, Help: false);
        }
    }
}
