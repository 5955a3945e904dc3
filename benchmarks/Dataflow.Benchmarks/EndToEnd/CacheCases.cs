using System.Globalization;
using System.Text;
using System.Text.Json;
using Dataflow.Examples.WordCount;
using static Dataflow.Benchmarks.EndToEnd.MergeCases;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// The task cache (issue 16), cold against warm against one input changed: each scenario runs an example program as
/// a whole process in a fresh store folder holding a copy of the inputs — a cold run with <c>--cache on</c> (the
/// baseline), the same command again (warm: every task from the cache), then one input rewritten (same key and size,
/// other letters) and the command again — and, in another fresh folder holding the changed inputs, the same run with
/// <c>--cache off</c>, first in the odd repetitions and last in the even ones. Every run's summary is checked: the
/// tasks run (all, 0, the changed input's path), the tasks taken from the cache stage by stage, and the outputs — the
/// warm run's the same bytes as the cold run's, the changed run's the same bytes as the <c>--cache off</c> run's (and
/// not the cold run's). A wrong figure or byte fails the benchmark; times are only reported.
/// </summary>
internal static class CacheCases
{
    /// <summary>One program and input set, run cold, warm, changed and without the cache.</summary>
    /// <param name="Name">The scenario's name in the report.</param>
    /// <param name="Program">The example program (built next to the benchmark program).</param>
    /// <param name="Args">The arguments of every run besides the store, the cache mode and the output options.</param>
    /// <param name="WriteInputs">Writes the inputs under <c>input/</c> of a store folder.</param>
    /// <param name="Changed">The input file rewritten for the changed run (under <c>input/</c>).</param>
    /// <param name="Warm">The tasks a warm run takes from the cache, stage by stage (the plan's stage widths).</param>
    /// <param name="ChangedRun">The tasks the changed run must run, stage by stage.</param>
    private sealed record Scenario(string Name, string Program, string[] Args, Func<string, Task> WriteInputs, string Changed, int[] Warm, int[] ChangedRun)
    {
        /// <summary>A Native AOT build of <see cref="Program"/> to run instead of its apphost; <see langword="null"/> for the apphost.</summary>
        public string? Executable { get; init; }

        public int Tasks => Warm.Sum();
    }

    /// <summary>What one run printed and took.</summary>
    private sealed record Run(double Seconds, double RunSeconds, int TasksRun, int[] Cached, IReadOnlyDictionary<string, double> Phases);

    private static readonly string[] s_kinds = ["cold", "warm", "changed", "off"];

    /// <summary>Runs every scenario <paramref name="repetitions"/> times; <paramref name="quick"/>: small word count, no big objects.</summary>
    public static async Task<BenchmarkResult> CompareAsync(string work, int repetitions, bool quick)
    {
        var culture = CultureInfo.InvariantCulture;
        const int Files = 512;
        var cascade = Enumerable.Range(1, 9).Select(l => Files >> l).ToArray();
        var path = cascade.Select(_ => 1).ToArray();
        var (wcObjects, wcSize, reducers) = (65, quick ? 128L << 10 : 1L << 20, 4);
        var wordCount = new Scenario(
            $"word count, {wcObjects} × {ByteSize.Format(wcSize)}", "word-count",
            ["run", "--split-size", wcSize.ToString(culture), "--reducers", reducers.ToString(culture)],
            async folder =>
            {
                var store = ObjectStore.OpenFolder(folder);
                await using (store.ConfigureAwait(false))
                {
                    await CorpusGenerator.WriteAsync(store, "input/", wcSize, wcObjects, 0, Seed, Environment.ProcessorCount, CancellationToken.None).ConfigureAwait(false);
                }
            },
            "030.txt", [wcObjects, reducers], [1, reducers]);
        // Full mode also runs the cascade as a Native AOT program, where the fixed costs of planning and of looking
        // tasks up are not just-in-time compilation.
        var aot = quick ? null : await FixedCostCases.PublishAotAsync().ConfigureAwait(false);
        Scenario[] scenarios =
        [
            new("seed cascade", "merge-files", [], folder => WriteInputsAsync(folder, Files, 1), "300.txt", cascade, path),
            .. aot is null ? [] : new[] { new Scenario("seed cascade, Native AOT", "merge-files", [], folder => WriteInputsAsync(folder, Files, 1), "300.txt", cascade, path) { Executable = aot } },
            new("seed cascade, `--executor process`", "merge-files", ["--executor", "process"], folder => WriteInputsAsync(folder, Files, 1), "300.txt", cascade, path),
            .. quick ? [] : new[] { new Scenario("seed cascade, 512 × 64 KiB", "merge-files", [], folder => WriteInputsAsync(folder, Files, 64 << 10), "300.txt", cascade, path) },
            wordCount,
        ];

        var rows = new List<Comparison>();
        var summary = new StringBuilder();
        var phases = new StringBuilder();
        var all = new List<(string Name, List<double> Seconds)>();
        summary.AppendLine("| scenario | tasks | cold s | warm s | changed s | `--cache off` s | warm / cold | changed / cold | cold / off |");
        summary.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var scenario in scenarios)
        {
            var runs = await RunScenarioAsync(work, scenario, repetitions).ConfigureAwait(false);
            List<double> Whole(string kind) => [.. runs[kind].Select(r => r.Seconds)];
            List<double> Own(string kind) => [.. runs[kind].Select(r => r.RunSeconds)];
            string Ratio(string kind, string baseline, Func<string, List<double>> of) => (Median(of(kind)) / Median(of(baseline))).ToString("0.00", culture);
            var cold = $"{scenario.Name}: cold run (`--cache on`, empty cache)";
            rows.Add(Comparison.Of($"{scenario.Name}: warm run (0 of {scenario.Tasks} tasks run), its run (`wallMs`)", Own("warm"), cold + ", its run", Own("cold"), $"warm / cold = {Ratio("warm", "cold", Own)} (target ≤ 0.20)"));
            rows.Add(Comparison.Of($"{scenario.Name}: warm run, whole process", Whole("warm"), cold + ", whole process", Whole("cold"), $"warm / cold = {Ratio("warm", "cold", Whole)} (target ≤ 0.20)"));
            rows.Add(Comparison.Of($"{scenario.Name}: one input changed ({scenario.ChangedRun.Sum()} tasks run), its run", Own("changed"), cold + ", its run", Own("cold"), $"changed / cold = {Ratio("changed", "cold", Own)}"));
            rows.Add(Comparison.Of($"{scenario.Name}: one input changed, whole process", Whole("changed"), cold + ", whole process", Whole("cold"), $"changed / cold = {Ratio("changed", "cold", Whole)}"));
            rows.Add(Comparison.Of($"{scenario.Name}: cold run (`--cache on`), its run", Own("cold"), "the same run with `--cache off`, its run", Own("off"), $"cold / off = {Ratio("cold", "off", Own)} (what keying and writing entries cost)"));
            summary.AppendLine(culture, $"| {scenario.Name}, its run (`wallMs`) | {scenario.Tasks} | {Median(Own("cold")):0.000} | {Median(Own("warm")):0.000} | {Median(Own("changed")):0.000} | {Median(Own("off")):0.000} | {Ratio("warm", "cold", Own)} | {Ratio("changed", "cold", Own)} | {Ratio("cold", "off", Own)} |");
            summary.AppendLine(culture, $"| {scenario.Name}, whole process | {scenario.Tasks} | {Median(Whole("cold")):0.000} | {Median(Whole("warm")):0.000} | {Median(Whole("changed")):0.000} | {Median(Whole("off")):0.000} | {Ratio("warm", "cold", Whole)} | {Ratio("changed", "cold", Whole)} | {Ratio("cold", "off", Whole)} |");
            phases.Append(Phases(scenario.Name, runs));
            foreach (var kind in s_kinds)
            {
                all.Add(($"{scenario.Name}, {kind}, whole process", Whole(kind)));
                all.Add(($"{scenario.Name}, {kind}, its run", Own(kind)));
            }
        }

        return new BenchmarkResult(
            "Task cache: cold, warm, one input changed",
            string.Create(culture, $"Each scenario runs an example program ({(ProcessTimer.MergeFiles([]).FileName == "dotnet" ? "`dotnet <example>.dll`" : "its apphost")}) as a whole process, in a fresh local store folder holding a copy of the inputs (copied in untimed): a cold run with `--cache on --overwrite` (the baseline), the same command again (warm: every task from the cache, the publish a no-op), then one input rewritten with other letters (same key, same size) and the command again (changed: that input's map task or merge path and what depends on it run); and, in another fresh folder holding the changed inputs, the same run with `--cache off` (first in the odd repetitions, last in the even ones). Scenarios: the seed cascade (512 one-letter objects, fan-in 2, 511 tasks in 9 stages; changed: 9 tasks) on the local executor (also as a Native AOT program in full mode) and with `--executor process`{(quick ? string.Empty : ", and over 512 objects of 64 KiB")}; word count ({wcObjects} objects of {ByteSize.Format(wcSize)}, `--split-size {ByteSize.Format(wcSize)}` so each object is one map task, {reducers} reducers; changed: 1 map task and the {reducers} reducers). Checked every run, failing the benchmark otherwise: the tasks run and the tasks taken from the cache per stage (`cache.tasksCached`), the program's own verification, the warm output byte for byte the cold one's, the changed output byte for byte the `--cache off` run's and different from the cold one's. Times: the whole process (start-up, the run, verification) and the run alone (`wallMs`); speed-up = cold / case (the issue's target: warm ≤ 1/5 of cold, i.e. speed-up ≥ 5×)."),
            rows,
            "Medians (seconds):\n\n" + summary + "\n" + phases
            + Repetitions([.. all]).Replace("the Dataflow case went first in the odd ones", "each repetition ran cold, warm and changed in that order, the `--cache off` run first in the odd ones and last in the even ones", StringComparison.Ordinal));
    }

    /// <summary>The repetitions of one scenario: every kind of run's figures, in the order run.</summary>
    private static async Task<Dictionary<string, List<Run>>> RunScenarioAsync(string work, Scenario scenario, int repetitions)
    {
        var inputs = Path.Combine(work, "cache-inputs");
        await scenario.WriteInputs(inputs).ConfigureAwait(false);
        var changedInputs = Path.Combine(work, "cache-inputs-changed");
        CopyFolder(Path.Combine(inputs, "input"), Path.Combine(changedInputs, "input"));
        await ChangeAsync(Path.Combine(changedInputs, "input", scenario.Changed)).ConfigureAwait(false);
        var runs = s_kinds.ToDictionary(k => k, _ => new List<Run>());
        for (var rep = 1; rep <= repetitions; rep++)
        {
            var store = Path.Combine(work, $"cache-store-r{rep}");
            var offStore = Path.Combine(work, $"cache-store-off-r{rep}");
            CopyFolder(Path.Combine(inputs, "input"), Path.Combine(store, "input"));
            CopyFolder(Path.Combine(changedInputs, "input"), Path.Combine(offStore, "input"));
            var offFirst = rep % 2 == 1;
            if (offFirst)
            {
                runs["off"].Add(await RunAsync(scenario, "off", offStore, rep, scenario.Tasks, null).ConfigureAwait(false));
            }

            runs["cold"].Add(await RunAsync(scenario, "cold", store, rep, scenario.Tasks, new int[scenario.Warm.Length]).ConfigureAwait(false));
            var cold = await OutputsAsync(store).ConfigureAwait(false);
            runs["warm"].Add(await RunAsync(scenario, "warm", store, rep, 0, scenario.Warm).ConfigureAwait(false));
            Same(scenario, rep, "the warm run", await OutputsAsync(store).ConfigureAwait(false), "the cold run", cold);
            await ChangeAsync(Path.Combine(store, "input", scenario.Changed)).ConfigureAwait(false);
            runs["changed"].Add(await RunAsync(scenario, "changed", store, rep, scenario.ChangedRun.Sum(), [.. scenario.Warm.Zip(scenario.ChangedRun, (w, c) => w - c)]).ConfigureAwait(false));
            if (!offFirst)
            {
                runs["off"].Add(await RunAsync(scenario, "off", offStore, rep, scenario.Tasks, null).ConfigureAwait(false));
            }

            var changed = await OutputsAsync(store).ConfigureAwait(false);
            Same(scenario, rep, "the changed run", changed, "the `--cache off` run over the changed inputs", await OutputsAsync(offStore).ConfigureAwait(false));
            if (Equal(changed, cold))
            {
                throw new InvalidOperationException($"cache, {scenario.Name}, repetition {rep}: the changed run's output is the cold run's, though input '{scenario.Changed}' changed");
            }

            Progress(string.Create(CultureInfo.InvariantCulture,
                $"cache, {scenario.Name} rep {rep}/{repetitions}: runs (wallMs) cold {runs["cold"][^1].RunSeconds:0.000} s, warm {runs["warm"][^1].RunSeconds:0.000} s, changed {runs["changed"][^1].RunSeconds:0.000} s, off {runs["off"][^1].RunSeconds:0.000} s"));
            Directory.Delete(store, recursive: true);
            Directory.Delete(offStore, recursive: true);
        }

        Directory.Delete(inputs, recursive: true);
        Directory.Delete(changedInputs, recursive: true);
        return runs;
    }

    /// <summary>
    /// Runs the scenario's program once on <paramref name="store"/> and checks its summary: verified, <paramref name="tasksRun"/>
    /// tasks run and, with the cache on, <paramref name="cached"/> tasks taken from it per stage.
    /// </summary>
    private static async Task<Run> RunAsync(Scenario scenario, string kind, string store, int rep, int tasksRun, int[]? cached)
    {
        var name = $"{scenario.Program}, {scenario.Name}, {kind} run (repetition {rep})";
        string[] args = [.. scenario.Args, "--store", store, "--cache", cached is null ? "off" : "on", "--overwrite", "--json", "--progress", "none"];
        var (seconds, output) = await ProcessTimer.RunAsync(name, scenario.Executable is { } executable ? ProcessTimer.Of(executable, args) : ProcessTimer.Example(scenario.Program, args)).ConfigureAwait(false);
        var runSeconds = WallSeconds(output);
        using var json = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
        var root = json.RootElement;
        var run = root.GetProperty("tasksRun").GetInt32();
        var inCache = cached is null ? [] : root.GetProperty("cache").GetProperty("tasksCached").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        if (run != tasksRun || (cached is not null && !inCache.SequenceEqual(cached)))
        {
            throw new InvalidOperationException(
                $"{name}: {run} tasks run and [{string.Join(", ", inCache)}] taken from the cache by stage, not {tasksRun} and [{string.Join(", ", cached ?? [])}]: {output}");
        }

        var report = Path.Combine(store, "_dataflow", "runs", root.GetProperty("runId").GetString()!, "report.json");
        using var phases = JsonDocument.Parse(await File.ReadAllBytesAsync(report).ConfigureAwait(false));
        var times = phases.RootElement.GetProperty("phases").EnumerateArray().ToDictionary(
            p => p.GetProperty("name").GetString()!,
            p => p.GetProperty("endMs").GetDouble() - p.GetProperty("startMs").GetDouble(),
            StringComparer.Ordinal);
        return new Run(seconds, runSeconds, run, inCache, times);
    }

    /// <summary>Rewrites a file with the same bytes but every ASCII letter the next one (Z to A): same size, other content.</summary>
    private static async Task ChangeAsync(string file)
    {
        var bytes = await File.ReadAllBytesAsync(file).ConfigureAwait(false);
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = bytes[i] switch
            {
                (byte)'Z' => (byte)'A',
                (byte)'z' => (byte)'a',
                >= (byte)'A' and < (byte)'Z' or >= (byte)'a' and < (byte)'z' => (byte)(bytes[i] + 1),
                var b => b,
            };
        }

        await File.WriteAllBytesAsync(file, bytes).ConfigureAwait(false);
    }

    /// <summary>Every file under the store's <c>output/</c> folder, by its name.</summary>
    private static async Task<SortedDictionary<string, byte[]>> OutputsAsync(string store)
    {
        var outputs = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(store, "output")))
        {
            outputs[Path.GetFileName(file)] = await File.ReadAllBytesAsync(file).ConfigureAwait(false);
        }

        return outputs;
    }

    private static bool Equal(SortedDictionary<string, byte[]> a, SortedDictionary<string, byte[]> b) =>
        a.Keys.SequenceEqual(b.Keys, StringComparer.Ordinal) && a.All(o => o.Value.AsSpan().SequenceEqual(b[o.Key]));

    private static void Same(Scenario scenario, int rep, string name, SortedDictionary<string, byte[]> actual, string baseline, SortedDictionary<string, byte[]> expected)
    {
        if (actual.Count == 0 || !Equal(actual, expected))
        {
            static string Describe(SortedDictionary<string, byte[]> o) => string.Join(", ", o.Select(f => $"{f.Key} ({f.Value.Length} bytes)"));
            throw new InvalidOperationException($"cache, {scenario.Name}, repetition {rep}: {name}'s output [{Describe(actual)}] is not the same bytes as {baseline}'s [{Describe(expected)}]");
        }
    }

    /// <summary>The median of each phase of the run report, per kind of run, as a Markdown table.</summary>
    private static string Phases(string scenario, Dictionary<string, List<Run>> runs)
    {
        var culture = CultureInfo.InvariantCulture;
        var names = runs.Values.SelectMany(r => r).SelectMany(r => r.Phases.Keys).Distinct(StringComparer.Ordinal).ToList();
        var text = new StringBuilder();
        text.AppendLine(culture, $"Phases of the runs' reports, {scenario} (median ms; `wallMs` and the whole process for comparison):");
        text.AppendLine();
        text.AppendLine("| run | " + string.Join(" | ", names) + " | `wallMs` | whole process |");
        text.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", names.Count + 2)));
        foreach (var kind in s_kinds)
        {
            var list = runs[kind];
            var cells = names.Select(n => Median(list.Select(r => r.Phases.GetValueOrDefault(n))).ToString("0", culture));
            text.AppendLine(culture, $"| {kind} | {string.Join(" | ", cells)} | {Median(list.Select(r => r.RunSeconds * 1000)):0} | {Median(list.Select(r => r.Seconds * 1000)):0} |");
        }

        text.AppendLine();
        return text.ToString();
    }
}
