using System.Globalization;
using System.Text;
using static Dataflow.Benchmarks.EndToEnd.MergeCases;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// Issue 18's stragglers: a seed-cascade-shaped merge (128 objects merged pairwise, 7 levels, 127 tasks) in which one
/// task of a middle level (stage 3, task 0: 8 tasks in its level) sleeps 10 s on its first attempt only. Three
/// configurations back to back, alternating their order: no straggler (the baseline), the straggler with speculation
/// (the default: a backup after twice the stage's median and at least 1 s, once 3/4 of the stage committed), and the
/// straggler with speculation off. The run is timed (its summary's wall time), on the local executor and on the
/// process executor (this program serves as its own worker: <see cref="DefineJob"/>). Every output is checked against
/// the inputs' concatenation, and each straggler run's report against what speculation should have done.
/// </summary>
internal static class StragglerCases
{
    private const int Files = 128;
    private const int StragglerStage = 3;
    private static readonly TimeSpan s_sleep = TimeSpan.FromSeconds(10);

    private enum Shape
    {
        Baseline,
        Speculation,
        NoSpeculation,
    }

    /// <summary>The job, from its stored arguments: <c>[stage, task, seconds]</c> of the straggler (stage -1: none).</summary>
    public static Job DefineJob(IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (arguments is not [var stage, var task, var seconds])
        {
            throw new JobDefinitionException("stragglers", "the straggler job takes three arguments: the straggler's stage, task and seconds of sleep");
        }

        var straggler = new StragglerOperator(
            int.Parse(stage, CultureInfo.InvariantCulture), int.Parse(task, CultureInfo.InvariantCulture), TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture)));
        return Job.Named("stragglers").FromPrefix("input/").ReduceTree(2, straggler).WriteTo("output/merged.bin");
    }

    /// <summary>Runs the three configurations <paramref name="repetitions"/> times on each executor.</summary>
    public static async Task<BenchmarkResult> CompareAsync(string work, int repetitions)
    {
        var inputs = Path.Combine(work, "straggler-inputs");
        await WriteInputsAsync(inputs, Files, 4096).ConfigureAwait(false);
        var expected = await ConcatenateAsync(InputFiles(inputs)).ConfigureAwait(false);
        var rows = new List<Comparison>();
        var details = new StringBuilder();
        var all = new List<(string Name, List<double> Seconds)>();
        foreach (var process in new[] { false, true })
        {
            var executor = process ? "process" : "local";
            var times = new Dictionary<Shape, List<double>> { [Shape.Baseline] = [], [Shape.Speculation] = [], [Shape.NoSpeculation] = [] };
            for (var rep = 1; rep <= repetitions; rep++)
            {
                Shape[] order = rep % 2 == 1 ? [Shape.Baseline, Shape.Speculation, Shape.NoSpeculation] : [Shape.NoSpeculation, Shape.Speculation, Shape.Baseline];
                foreach (var shape in order)
                {
                    var store = Path.Combine(work, $"straggler-{executor}-{shape}-r{rep}");
                    CopyFolder(Path.Combine(inputs, "input"), Path.Combine(store, "input"));
                    var (seconds, note) = await RunOnceAsync(store, shape, process, expected).ConfigureAwait(false);
                    times[shape].Add(seconds);
                    if (rep == 1 && note is not null)
                    {
                        details.Append(CultureInfo.InvariantCulture, $"- {executor} executor, {Describe(shape)}: {note}\n");
                    }

                    Progress($"stragglers {executor} rep {rep}/{repetitions}: {Describe(shape)}, its run {seconds:0.000} s");
                    Directory.Delete(store, recursive: true);
                }
            }

            var baseline = times[Shape.Baseline];
            foreach (var shape in new[] { Shape.Speculation, Shape.NoSpeculation })
            {
                var extra = Median(times[shape]) - Median(baseline);
                rows.Add(Comparison.Of(
                    $"{executor} executor, {Describe(shape)}", times[shape],
                    "no straggler, same executor", baseline,
                    string.Create(CultureInfo.InvariantCulture, $"+{extra:0.00} s over the baseline")));
            }

            all.Add(($"{executor}, no straggler", baseline));
            all.Add(($"{executor}, straggler, --speculate on", times[Shape.Speculation]));
            all.Add(($"{executor}, straggler, --speculate off", times[Shape.NoSpeculation]));
        }

        Directory.Delete(inputs, recursive: true);
        return new BenchmarkResult(
            "Issue 18: stragglers",
            string.Create(CultureInfo.InvariantCulture, $"A seed-cascade-shaped merge of {Files} objects of 4 KiB (fan-in 2, 7 levels, {Files - 1} tasks, `ConcatOperator`) run in this process by `JobRunner` on a folder store, concurrency {Math.Max(4, Environment.ProcessorCount)}; in the straggler runs task {StragglerStage}/0 (a level of 8 tasks) sleeps {s_sleep.TotalSeconds:0} s on its first attempt only (cancellably). Three configurations back to back, their order alternating: no straggler (the baseline), the straggler with speculation on (the defaults: a backup after 2× the stage's median and at least 1 s, once 75 % of the stage committed), and with `--speculate off`. On the local executor and on the process executor (this program as its worker). The run is timed (`wallMs`). Each output is compared byte for byte with the inputs' concatenation; each straggler run's `report.json` must show the backup attempt and the cancelled first attempt (with speculation) or neither (without). Speed-up = baseline / case: 1 would be no cost at all."),
            rows,
            details + "\n" + Repetitions([.. all]));
    }

    private static async Task<(double Seconds, string? Note)> RunOnceAsync(string folder, Shape shape, bool process, byte[] expected)
    {
        var store = ObjectStore.OpenFolder(folder);
        await using (store.ConfigureAwait(false))
        {
            string[] arguments = shape == Shape.Baseline ? ["-1", "0", "0"] : [StragglerStage.ToString(CultureInfo.InvariantCulture), "0", s_sleep.TotalSeconds.ToString(CultureInfo.InvariantCulture)];
            var options = new JobRunnerOptions
            {
                Concurrency = Math.Max(4, Environment.ProcessorCount),
                Arguments = arguments,
                Speculation = shape == Shape.NoSpeculation ? SpeculationOptions.Off : new SpeculationOptions(),
                Executor = process ? Executor.WorkerProcesses() : Executor.Local,
            };
            var result = await new JobRunner(store, options).RunAsync(DefineJob(arguments)).ConfigureAwait(false);
            var summary = result.Summary;
            await CheckSameAsync($"stragglers ({Describe(shape)})", Path.Combine(folder, "output", "merged.bin"), expected).ConfigureAwait(false);
            var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(new RunLayout(summary.RunId).ReportKey).ConfigureAwait(false));
            var attempts = report.Attempts.Where(a => a.Stage == StragglerStage && a.Task == 0).OrderBy(a => a.Attempt).ToList();
            var backups = report.Attempts.Count(a => a.Speculative == true);
            var shown = string.Join("; ", attempts.Select(a => string.Create(CultureInfo.InvariantCulture, $"attempt {a.Attempt}{(a.Speculative == true ? " (backup)" : "")} {a.Outcome}{(a.Error is null ? "" : $" ({a.Error})")} after {(a.EndMs - a.StartMs) / 1000:0.00} s")));
            switch (shape)
            {
                case Shape.Speculation when !(attempts is [{ Outcome: "cancelled", Speculative: null }, { Outcome: "committed", Speculative: true }] && summary.SpeculativeWins >= 1):
                    throw new InvalidOperationException($"with speculation, the straggler's report is not one cancelled first attempt and one committed backup: {shown}");
                case Shape.NoSpeculation when backups != 0 || attempts is not [{ Outcome: "committed" }]:
                    throw new InvalidOperationException($"without speculation, the straggler's report shows other than one committed attempt: {shown}");
            }

            var note = string.Create(CultureInfo.InvariantCulture, $"{summary.Attempts} attempts, {summary.SpeculativeAttempts} of them backups ({summary.SpeculativeWins} won); task {StragglerStage}/0: {(attempts.Count == 0 ? "-" : shown)}; {summary.IntermediateObjectsLeft} intermediate objects left");
            return (summary.WallMs / 1000.0, note);
        }
    }

    private static string Describe(Shape shape) => shape switch
    {
        Shape.Baseline => "no straggler",
        Shape.Speculation => "straggler, `--speculate on`",
        _ => "straggler, `--speculate off`",
    };

    /// <summary><see cref="ConcatOperator"/>, but one task sleeps on its first attempt (cancellably).</summary>
    private sealed class StragglerOperator(int stage, int task, TimeSpan sleep) : IObjectOperator
    {
        private readonly ConcatOperator _concat = new();

        public string Name => "straggler-concat";

        public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
        {
            if (context.TaskId == new TaskId(stage, task) && context.Attempt == 1)
            {
                await Task.Delay(sleep, cancellationToken).ConfigureAwait(false);
            }

            await _concat.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
        }
    }
}
