using System.Diagnostics;
using System.Globalization;
using static Dataflow.Benchmarks.EndToEnd.MergeCases;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// What a run costs beyond its work (issue 13's table): the seed cascade as a whole process, Native AOT and JIT, against
/// the bash <c>cat</c> cascade; a 20,005-task merge of 20,000 one-byte objects, its run in tasks a second; one Native
/// AOT worker process (start, one task, commit, exit) against one <c>cat</c> process; peak memory. The AOT program is
/// published with deploy/Dockerfile's command into this program's folder (the first time takes minutes; later runs
/// reuse it when nothing changed).
/// </summary>
internal static class FixedCostCases
{
    private const int SeedFiles = 512;
    private const int ManyFiles = 20_000;

    public static async Task<BenchmarkResult> FixedCostsAsync(string work, int repetitions)
    {
        var aot = await PublishAotAsync().ConfigureAwait(false);
        var seedInputs = Path.Combine(work, "fixed-seed-inputs");
        await WriteInputsAsync(seedInputs, SeedFiles, 1).ConfigureAwait(false);
        var expected = await ConcatenateAsync(InputFiles(seedInputs)).ConfigureAwait(false);
        var script = Path.Combine(work, "fixed-cascade.sh");
        await File.WriteAllTextAsync(script, CascadeScript.ReplaceLineEndings("\n")).ConfigureAwait(false);

        List<double> aotWhole = [], aotRun = [], jitWhole = [], jitRun = [], shell = [];
        List<double> aotManyRun = [], jitManyRun = [], worker = [], cat = [];
        List<long> aotMemory = [], jitMemory = [];
        for (var rep = 1; rep <= repetitions; rep++)
        {
            // Alternate which goes first, as the other benchmarks do.
            var order = rep % 2 == 1 ? new[] { 0, 1, 2 } : [2, 1, 0];
            foreach (var which in order)
            {
                switch (which)
                {
                    case 0:
                        var (seconds, run, memory) = await SeedAsync(work, $"aot-r{rep}", Of(aot), expected).ConfigureAwait(false);
                        (aotWhole, aotRun, aotMemory).Add(seconds, run, memory);
                        Progress($"fixed rep {rep}/{repetitions}: Native AOT seed {seconds:0.000} s (run {run:0.000} s, peak {memory / 1024} MiB)");
                        break;
                    case 1:
                        (seconds, run, memory) = await SeedAsync(work, $"jit-r{rep}", ProcessTimer.MergeFiles([]), expected).ConfigureAwait(false);
                        (jitWhole, jitRun, jitMemory).Add(seconds, run, memory);
                        Progress($"fixed rep {rep}/{repetitions}: JIT seed {seconds:0.000} s (run {run:0.000} s, peak {memory / 1024} MiB)");
                        break;
                    default:
                        var folder = Path.Combine(work, $"fixed-shell-r{rep}");
                        CopyFolder(Path.Combine(seedInputs, "input"), Path.Combine(folder, "input"));
                        var (shellSeconds, _) = await ProcessTimer.RunAsync($"the cat cascade (repetition {rep})", ProcessTimer.Of("bash", script, folder)).ConfigureAwait(false);
                        await CheckSameAsync("the cat cascade", Path.Combine(folder, "merged.txt"), expected).ConfigureAwait(false);
                        shell.Add(shellSeconds);
                        Directory.Delete(folder, recursive: true);
                        break;
                }
            }

            foreach (var first in rep % 2 == 1 ? new[] { true, false } : [false, true])
            {
                var seconds = await ManyAsync(work, first ? Of(aot) : ProcessTimer.MergeFiles([]), first ? "aot" : "jit", rep).ConfigureAwait(false);
                (first ? aotManyRun : jitManyRun).Add(seconds);
                Progress($"fixed rep {rep}/{repetitions}: {(first ? "Native AOT" : "JIT")} {ManyFiles}-input merge, its run {seconds:0.000} s ({(ManyFiles + 5) / seconds:0} tasks/s)");
            }

            worker.Add(await OneWorkerAsync(work, aot, rep).ConfigureAwait(false));
            cat.Add(await OneCatAsync(seedInputs).ConfigureAwait(false));
            Progress($"fixed rep {rep}/{repetitions}: one AOT worker process {worker[^1] * 1000:0.0} ms, one cat {cat[^1] * 1000:0.0} ms");
        }

        Directory.Delete(seedInputs, recursive: true);
        var cascade = $"bash cascade, {SeedFiles - 1} × `cat a b > c`";
        var manyTasks = ManyFiles + 5;
        return new BenchmarkResult(
            "Fixed costs: start-up, per task, per worker process",
            string.Create(CultureInfo.InvariantCulture, $"The seed cascade ({SeedFiles} one-letter objects, {SeedFiles - 1} tasks) by merge-files published as Native AOT (deploy/Dockerfile's command) and by its JIT build (the apphost of `dotnet build -c Release`), each a whole process in a fresh store folder (start-up, creating the inputs, the run, verification, the run report), against the bash `cat` cascade on the same files; a merge of {ManyFiles:N0} one-byte objects ({manyTasks:N0} tasks), its run (`wallMs`) by each build; and one worker process of the AOT program (`merge-files worker --plan … --stage 0 --task 0`, a pod's command, on the stored plan of a one-task run whose commit was taken back: it loads the plan, runs the task, commits it and exits; timed as a whole process) against `bash -c 'cat a b > c'`. Peak memory is the whole process's maximum resident set (GNU time)."),
            [
                Comparison.Of("Native AOT, seed cascade, whole process", aotWhole, cascade, shell, $"peak {MiB(aotMemory)}"),
                Comparison.Of("JIT build, seed cascade, whole process", jitWhole, cascade, shell, $"peak {MiB(jitMemory)}"),
                Comparison.Of("Native AOT, seed cascade, its run (`wallMs`)", aotRun, cascade, shell, string.Empty),
                Comparison.Of($"Native AOT, {manyTasks:N0}-task merge, its run", aotManyRun, $"JIT build, the same run", jitManyRun,
                    string.Create(CultureInfo.InvariantCulture, $"{manyTasks / EndToEndRunner.Median(aotManyRun):N0} vs {manyTasks / EndToEndRunner.Median(jitManyRun):N0} tasks/s")),
                Comparison.Of("one Native AOT worker process: start, one task, commit, exit", worker, "`bash -c 'cat a b > c'`", cat, string.Empty),
            ],
            Repetitions(
                ("Native AOT seed, whole process", aotWhole), ("Native AOT seed, run", aotRun), ("JIT seed, whole process", jitWhole), ("JIT seed, run", jitRun),
                ("cat cascade", shell), ("Native AOT many-input run", aotManyRun), ("JIT many-input run", jitManyRun), ("AOT worker process", worker), ("cat process", cat)));
    }

    private static void Add(this (List<double> Whole, List<double> Run, List<long> Memory) lists, double whole, double run, long memory)
    {
        lists.Whole.Add(whole);
        lists.Run.Add(run);
        lists.Memory.Add(memory);
    }

    private static string MiB(List<long> kib) =>
        kib.All(k => k > 0) ? string.Create(CultureInfo.InvariantCulture, $"{kib.Order().ElementAt(kib.Count / 2) / 1024.0:0} MiB") : "n/a (no GNU time)";

    private static ProcessStartInfo Of(string program) => new(program);

    /// <summary>One seed cascade as a whole process: its time, its run's time, and its peak RSS in KiB (0 without GNU time).</summary>
    private static async Task<(double Seconds, double Run, long PeakKib)> SeedAsync(string work, string name, ProcessStartInfo program, byte[] expected)
    {
        var store = Path.Combine(work, $"fixed-seed-{name}");
        var memory = Path.Combine(work, $"fixed-seed-{name}.rss");
        var start = ProcessTimer.Measured(program, memory, ["--store", store, "--files", SeedFiles.ToString(CultureInfo.InvariantCulture), "--seed", Seed.ToString(CultureInfo.InvariantCulture), "--json", "--progress", "none"]);
        var (seconds, output) = await ProcessTimer.RunAsync($"merge-files ({name})", start).ConfigureAwait(false);
        await CheckSameAsync($"merge-files ({name})", Path.Combine(store, "output", "merged.txt"), expected).ConfigureAwait(false);
        Directory.Delete(store, recursive: true);
        return (seconds, WallSeconds(output), ProcessTimer.PeakKib(memory));
    }

    private static async Task<double> ManyAsync(string work, ProcessStartInfo program, string name, int rep)
    {
        var store = Path.Combine(work, $"fixed-many-{name}-r{rep}");
        foreach (var arg in (string[])["--store", store, "--files", ManyFiles.ToString(CultureInfo.InvariantCulture), "--json", "--progress", "none"])
        {
            program.ArgumentList.Add(arg);
        }

        var (_, output) = await ProcessTimer.RunAsync($"merge-files, {ManyFiles} inputs ({name})", program).ConfigureAwait(false);
        Directory.Delete(store, recursive: true);
        return WallSeconds(output);
    }

    /// <summary>
    /// How long one AOT worker process takes to start, run one task, commit it and exit, timed as a whole process:
    /// <c>worker --plan … --stage 0 --task 0</c> (a pod's command) on the stored plan of a one-task run whose commit was
    /// taken back. (The process executor's workers are long-lived now, so its run report no longer times a worker's start.)
    /// </summary>
    private static async Task<double> OneWorkerAsync(string work, string aot, int rep)
    {
        var store = Path.Combine(work, $"fixed-worker-r{rep}");
        var (_, output) = await ProcessTimer.RunAsync("merge-files (one task)", ProcessTimer.Of(aot, "--store", store, "--files", "2", "--json", "--progress", "none")).ConfigureAwait(false);
        _ = WallSeconds(output);
        var run = Directory.GetDirectories(Path.Combine(store, "_dataflow", "runs")).Single();
        Directory.Delete(Path.Combine(run, "commits"), recursive: true);
        var plan = new Uri(Path.Combine(run, "plan.json")).AbsoluteUri;
        var (seconds, report) = await ProcessTimer.RunAsync("merge-files worker (one task)", ProcessTimer.Of(aot, "worker", "--plan", plan, "--stage", "0", "--task", "0")).ConfigureAwait(false);
        if (!report.Contains("\"status\":\"committed\"", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the worker did not commit its task: {report}");
        }

        Directory.Delete(store, recursive: true);
        return seconds;
    }

    private static async Task<double> OneCatAsync(string inputs)
    {
        var files = InputFiles(inputs);
        var output = Path.Combine(inputs, "cat-out");
        var (seconds, _) = await ProcessTimer.RunAsync("cat a b > c", ProcessTimer.Of("bash", "-c", "cat \"$1\" \"$2\" > \"$3\"", "cat", files[0], files[1], output)).ConfigureAwait(false);
        File.Delete(output);
        return seconds;
    }

    /// <summary>
    /// The example <paramref name="example"/> published as deploy/Dockerfile's worker image publishes a program
    /// (Native AOT), into this program's folder: <c>native-aot/&lt;example&gt;</c>. Needs clang and zlib's headers
    /// (scripts/native-aot.sh).
    /// </summary>
    /// <returns>The native program's path.</returns>
    internal static async Task<string> PublishAotAsync(string example = "merge-files")
    {
        var repository = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repository, "Dataflow.sln")))
        {
            repository = Path.GetDirectoryName(repository.TrimEnd(Path.DirectorySeparatorChar))
                ?? throw new InvalidOperationException($"no Dataflow.sln above {AppContext.BaseDirectory}: the benchmarks publish {example} from the repository");
        }

        var output = Path.Combine(AppContext.BaseDirectory, "native-aot", example);
        if (File.Exists(output))
        {
            // Before the benchmarks published more than one program, merge-files went to native-aot/ itself.
            File.Delete(output);
        }

        var dockerfile = await File.ReadAllTextAsync(Path.Combine(repository, "deploy", "Dockerfile")).ConfigureAwait(false);
        var publish = dockerfile.Split('\n').Select(l => l.Trim()).SingleOrDefault(l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal) && l.Contains("-p:PublishAot=true", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("deploy/Dockerfile has no 'RUN dotnet publish … -p:PublishAot=true' line");
        var args = publish["RUN dotnet ".Length..]
            .Replace("\"$PROJECT\"", Path.Combine(repository, "examples", example, example + ".csproj"), StringComparison.Ordinal)
            .Replace("$RID", "linux-x64", StringComparison.Ordinal)
            .Replace("-o /app", $"-o {output}", StringComparison.Ordinal)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Progress($"publishing {example} as Native AOT into {output} (minutes the first time)");
        await ProcessTimer.RunAsync($"dotnet publish {example} (Native AOT)", ProcessTimer.Of("dotnet", args)).ConfigureAwait(false);
        return Path.Combine(output, example);
    }
}
