using System.Globalization;
using System.Text.Json;
using Dataflow.Examples.SortedMerge;
using static Dataflow.Benchmarks.EndToEnd.MergeCases;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// A typed reduce tree against one k-way merge: the sorted-merge example merges 300 objects of sorted numbers (every
/// seventh empty) with widths 75,19,5,1 (text in, binary records between levels, text out) and, as the baseline, with
/// widths 1 (one task: a 300-way merge, text in and text out), and against the same tree passing text between levels
/// (<c>--intermediate-format text</c>, as untyped operators would), on the same inputs, back to back, each repetition
/// starting with another case. The run alone is timed (its summary's <c>wallMs</c>); both verify against a plain sort, and their outputs must
/// be the same bytes. An untimed run with <c>--gc never</c> first measures the bytes each level wrote.
/// </summary>
internal static class SortedMergeCases
{
    private const int Files = 300;
    private const string Tree = "75,19,5,1";

    public static async Task<BenchmarkResult> CompareAsync(string work, int numbers, int repetitions, bool nativeAot)
    {
        var culture = CultureInfo.InvariantCulture;
        var store = Path.Combine(work, "sorted-merge-store");
        var folder = ObjectStore.OpenFolder(store);
        await using (folder.ConfigureAwait(false))
        {
            await NumberGenerator.WriteAsync(folder, "input/", Files, numbers, Seed, Environment.ProcessorCount, CancellationToken.None).ConfigureAwait(false);
        }

        var text = Directory.GetFiles(Path.Combine(store, "input")).Sum(f => new FileInfo(f).Length);
        var levels = await LevelBytesAsync(store).ConfigureAwait(false);
        // The typed tree, one 300-way merge, and the same tree passing text between levels (as untyped operators do).
        // With Native AOT, the tree and the one merge again, without just-in-time compilation in either.
        Func<IEnumerable<string>, System.Diagnostics.ProcessStartInfo> jit = args => ProcessTimer.Example("sorted-merge", args);
        var aot = nativeAot ? await FixedCostCases.PublishAotAsync("sorted-merge").ConfigureAwait(false) : null;
        (string Name, Func<IEnumerable<string>, System.Diagnostics.ProcessStartInfo> Start, string[] Args)[] cases =
        [
            ("tree", jit, ["--widths", Tree]),
            ("single", jit, ["--widths", "1"]),
            ("text tree", jit, ["--widths", Tree, "--intermediate-format", "text"]),
            .. aot is null ? [] : new (string, Func<IEnumerable<string>, System.Diagnostics.ProcessStartInfo>, string[])[]
            {
                ("tree, Native AOT", args => ProcessTimer.Of(aot, args), ["--widths", Tree]),
                ("single, Native AOT", args => ProcessTimer.Of(aot, args), ["--widths", "1"]),
            },
        ];
        var seconds = cases.Select(_ => new List<double>()).ToArray();
        byte[]? expected = null;
        for (var rep = 1; rep <= repetitions; rep++)
        {
            // Each repetition starts with another case, so that none always runs first.
            for (var k = 0; k < cases.Length; k++)
            {
                var c = (rep - 1 + k) % cases.Length;
                var output = string.Create(culture, $"output/case{c}-r{rep}.txt");
                var (_, summary) = await ProcessTimer.RunAsync($"sorted-merge, {cases[c].Name} (repetition {rep})", cases[c].Start(
                    ["--store", store, .. cases[c].Args, "--output", output, "--json", "--progress", "none"])).ConfigureAwait(false);
                seconds[c].Add(WallSeconds(summary));
                var path = Path.Combine(store, output);
                var bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
                if (expected is not null && !bytes.AsSpan().SequenceEqual(expected))
                {
                    throw new InvalidOperationException($"sorted-merge, {cases[c].Name}, repetition {rep}: the output differs from the first run's");
                }

                expected ??= bytes;
                File.Delete(path);
                Progress($"sorted merge rep {rep}/{repetitions}: {cases[c].Name}, its run {seconds[c][^1]:0.000} s");
            }
        }

        var (tree, single, textTree) = (seconds[0], seconds[1], seconds[2]);
        Directory.Delete(store, recursive: true);
        var mib = string.Join(", ", levels.Select((b, i) => string.Create(culture, $"level {i + 1} {b / MiB:0.0} MiB")));
        return new BenchmarkResult(
            "Sorted merge",
            string.Create(culture, $"{Files} objects of sorted 64-bit numbers, one per line (every seventh empty, the others {numbers / 2:N0} to {numbers * 3 / 2:N0} numbers; {text / MiB:0.0} MiB of text), merged by the sorted-merge example (a typed reduce tree, `RecordTreeSpec<long>`) with widths {Tree} (100 tasks) against the same program with widths 1 (one task: a {Files}-way merge) and against the same tree passing text between levels (`--intermediate-format text`){(aot is null ? string.Empty : "; and the first two again as Native AOT programs")}, on a local folder store, `--concurrency` the core count. The levels below the last write binary records (zig-zag varints): {mib}, against {text / MiB:0.0} MiB of text at every level of an untyped tree. Both verify their output against a plain sort; the outputs are compared byte for byte."),
            [
                Comparison.Of($"typed tree, widths {Tree}, its run (`wallMs`)", tree, $"one {Files}-way merge (widths 1), its run", single, string.Empty),
                Comparison.Of($"typed tree, widths {Tree}, its run (`wallMs`)", tree, "the same tree passing text between levels (`--intermediate-format text`), its run", textTree, string.Empty),
                .. aot is null ? [] : new[]
                {
                    Comparison.Of($"typed tree, widths {Tree}, Native AOT, its run", seconds[3], $"one {Files}-way merge, Native AOT, its run", seconds[4], "no just-in-time compilation"),
                },
            ],
            "Each repetition ran every case once, starting with another case each time (repetition r starts with case r of the list below, in turn). "
            + Repetitions([("typed tree", tree), ($"one {Files}-way merge", single), ("tree passing text", textTree), .. aot is null ? [] : new[] { ("typed tree, Native AOT", seconds[3]), ($"one {Files}-way merge, Native AOT", seconds[4]) }])
                .Replace("; the Dataflow case went first in the odd ones", string.Empty, StringComparison.Ordinal));
    }

    // An untimed run that keeps its intermediates (--gc never): the bytes each level below the last wrote.
    private static async Task<long[]> LevelBytesAsync(string store)
    {
        var (_, summary) = await ProcessTimer.RunAsync("sorted-merge --gc never", ProcessTimer.Example("sorted-merge",
            ["--store", store, "--widths", Tree, "--output", "output/kept.txt", "--gc", "never", "--json", "--progress", "none"])).ConfigureAwait(false);
        using var json = JsonDocument.Parse(summary[summary.IndexOf('{', StringComparison.Ordinal)..]);
        var runId = json.RootElement.GetProperty("runId").GetString()!;
        var run = Path.Combine(store, "_dataflow", "runs", runId);
        var levels = Enumerable.Range(0, 3)
            .Select(s => Directory.GetFiles(Path.Combine(run, "data", string.Create(CultureInfo.InvariantCulture, $"s{s:D4}"))).Sum(f => new FileInfo(f).Length))
            .ToArray();
        Directory.Delete(run, recursive: true);
        File.Delete(Path.Combine(store, "output", "kept.txt"));
        return levels;
    }
}
