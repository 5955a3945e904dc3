using System.Globalization;
using System.Text;
using System.Text.Json;
using static Dataflow.Benchmarks.EndToEnd.MergeCases;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// The process executor against the local executor, on the same merges in the same run: the seed cascade (512
/// one-byte objects, fan-in 2, 511 tasks) and a fan-in 4 merge of 300 objects (102 tasks), each run by merge-files with
/// <c>--executor process</c> (a pool of <c>--concurrency</c> long-lived worker processes) and with the local executor,
/// back to back, alternating which goes first. The run alone is timed (its summary's <c>wallMs</c>); each output is
/// checked against the inputs' concatenation. The process runs' own reports say where their time went: how long the
/// workers took to start (the running phase's start to the first committed task) and how long one task took.
/// </summary>
internal static class ProcessCases
{
    private const int Seed = 42;

    private static readonly (string Name, int Files, string[] Shape, int Tasks)[] s_cases =
    [
        ("seed cascade", 512, [], 511),
        ("fan-in 4 merge", 300, ["--fan-in", "4"], 102),
    ];

    /// <summary>Runs both merges <paramref name="repetitions"/> times with each executor.</summary>
    public static async Task<BenchmarkResult> CompareAsync(string work, int repetitions)
    {
        var rows = new List<Comparison>();
        var details = new StringBuilder();
        var all = new List<(string Name, List<double> Seconds)>();
        foreach (var (name, files, shape, tasks) in s_cases)
        {
            var inputs = Path.Combine(work, $"process-inputs-{files}");
            await WriteInputsAsync(inputs, files, 1).ConfigureAwait(false);
            var expected = await ConcatenateAsync(InputFiles(inputs)).ConfigureAwait(false);
            List<double> process = [], local = [];
            var profiles = new List<string>();
            for (var rep = 1; rep <= repetitions; rep++)
            {
                foreach (var processFirst in rep % 2 == 1 ? new[] { true, false } : [false, true])
                {
                    var store = Path.Combine(work, $"process-store-{files}-r{rep}-{(processFirst ? "process" : "local")}");
                    CopyFolder(Path.Combine(inputs, "input"), Path.Combine(store, "input"));
                    string[] executor = processFirst ? ["--executor", "process"] : [];
                    var (_, output) = await ProcessTimer.RunAsync($"merge-files, {name} (repetition {rep})", ProcessTimer.MergeFiles(
                        ["--store", store, .. shape, .. executor, "--json", "--progress", "none"])).ConfigureAwait(false);
                    await CheckSameAsync("merge-files", Path.Combine(store, "output", "merged.txt"), expected).ConfigureAwait(false);
                    CheckTasks(output, tasks);
                    (processFirst ? process : local).Add(WallSeconds(output));
                    if (processFirst)
                    {
                        profiles.Add(Profile(store));
                    }

                    Progress($"{name} rep {rep}/{repetitions}: {(processFirst ? "process" : "local")} executor, its run {(processFirst ? process : local)[^1]:0.000} s");
                    Directory.Delete(store, recursive: true);
                }
            }

            Directory.Delete(inputs, recursive: true);
            var ratio = Median(process) / Median(local);
            rows.Add(Comparison.Of(
                $"{name} ({tasks} tasks), `--executor process`, its run (`wallMs`)", process,
                $"the same run on the local executor", local,
                string.Create(CultureInfo.InvariantCulture, $"process / local = {ratio:0.00}× (target ≤ 2×)")));
            all.Add(($"{name}, process executor", process));
            all.Add(($"{name}, local executor", local));
            details.Append(CultureInfo.InvariantCulture, $"Where the process runs of the {name} spent their time (from each run's report):\n\n");
            foreach (var profile in profiles)
            {
                details.Append("- ").Append(profile).Append('\n');
            }

            details.Append('\n');
        }

        return new BenchmarkResult(
            "Process executor",
            string.Create(CultureInfo.InvariantCulture, $"merge-files ({(ProcessTimer.MergeFiles([]).FileName == "dotnet" ? "`dotnet merge-files.dll`" : "its apphost")}) with `--executor process` — a pool of `--concurrency` ({Environment.ProcessorCount}) long-lived worker processes, each handed one task at a time over a pipe — against the same run on the local executor, in a fresh local store folder each (the one-byte inputs copied in untimed): the seed cascade (512 objects, fan-in 2, 511 tasks) and a fan-in 4 merge of 300 objects (300 → 75 → 19 → 5 → 2 → 1, 102 tasks; merge-files has no sorted-merge mode: it concatenates in key order). The run alone is timed (`wallMs`), which includes starting the workers. Speed-up = local / process: the target is ≥ 0.50× (process ≤ 2× local)."),
            rows,
            details + Repetitions([.. all]));
    }

    private static void CheckTasks(string output, int tasks)
    {
        using var summary = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
        var run = summary.RootElement.GetProperty("tasksRun").GetInt32();
        if (run != tasks)
        {
            throw new InvalidOperationException($"merge-files ran {run} tasks, not {tasks}");
        }
    }

    /// <summary>From a process run's report: the workers' start (running phase's start to the first commit), the median task, the running phase.</summary>
    private static string Profile(string store)
    {
        var runs = Path.Combine(store, "_dataflow", "runs");
        var report = Directory.GetFiles(runs, "report.json", SearchOption.AllDirectories).Single();
        using var json = JsonDocument.Parse(File.ReadAllBytes(report));
        var root = json.RootElement;
        var running = root.GetProperty("phases").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "running");
        var (start, end) = (running.GetProperty("startMs").GetDouble(), running.GetProperty("endMs").GetDouble());
        var attempts = root.GetProperty("attempts").EnumerateArray()
            .Select(a => (Start: a.GetProperty("startMs").GetDouble(), End: a.GetProperty("endMs").GetDouble()))
            .ToList();
        var firstCommit = attempts.Min(a => a.End);
        var perTask = Median([.. attempts.Select(a => a.End - a.Start)]);
        var planning = root.GetProperty("phases").EnumerateArray().Where(p => p.GetProperty("name").GetString() != "running")
            .Sum(p => p.GetProperty("endMs").GetDouble() - p.GetProperty("startMs").GetDouble());
        return string.Create(CultureInfo.InvariantCulture,
            $"running {end - start:0} ms, of which the workers' start {firstCommit - start:0} ms (to the first commit) and {attempts.Count} tasks at a median {perTask:0.0} ms each on {root.GetProperty("rows").GetArrayLength()} workers; the other phases {planning:0} ms");
    }
}
