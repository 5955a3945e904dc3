using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text.Json;
using Dataflow.Examples.MergeFiles;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// The two benchmarks of the merge-files example, each run as a whole process (as a user runs it) against the
/// shell doing the same: the seed cascade against a bash loop of <c>cat</c> per pair, and a big merge against one
/// <c>cat</c> of every file. Every output is compared with the baseline's; a difference fails the benchmark.
/// </summary>
internal static class MergeCases
{
    internal const int Seed = 42;

    // The seed cascade's shell baseline: one `cat a b > c` per pair, level by level (512 -> 256 -> ... -> 1), in a
    // folder holding input/000 ... input/511. Consumed intermediates are deleted like Dataflow's eager GC deletes
    // them, but with one `rm` per level rather than one per object, which favours the baseline. Inputs are kept.
    internal const string CascadeScript = """
        #!/usr/bin/env bash
        set -euo pipefail
        export LC_ALL=C
        cd "$1"
        files=(input/*)
        level=0
        while (( ${#files[@]} > 1 )); do
          level=$((level + 1))
          next=()
          for ((i = 0; i < ${#files[@]}; i += 2)); do
            out="l$level-$((i / 2))"
            cat "${files[@]:i:2}" > "$out"
            next+=("$out")
          done
          if (( level > 1 )); then rm -- "${files[@]}"; fi
          files=("${next[@]}")
        done
        mv -- "${files[0]}" merged.txt

        """;

    /// <summary>
    /// The seed cascade: 512 one-letter objects merged pairwise in 9 levels (511 tasks), by the merge-files example in
    /// a fresh store folder each repetition (whole process: start-up, creating the inputs, the run, verification; and
    /// the run alone, its summary's <c>wallMs</c>), against the bash cascade on the same 512 files.
    /// </summary>
    public static async Task<BenchmarkResult> SeedCascadeAsync(string work, int files, int repetitions)
    {
        var inputs = Path.Combine(work, "seed-inputs");
        await WriteInputsAsync(inputs, files, 1).ConfigureAwait(false);
        var expected = await ConcatenateAsync(InputFiles(inputs)).ConfigureAwait(false);
        var script = Path.Combine(work, "cascade.sh");
        await File.WriteAllTextAsync(script, CascadeScript.ReplaceLineEndings("\n")).ConfigureAwait(false);

        List<double> whole = [], run = [], shell = [];
        for (var rep = 1; rep <= repetitions; rep++)
        {
            foreach (var dataflowFirst in rep % 2 == 1 ? new[] { true, false } : [false, true])
            {
                if (dataflowFirst)
                {
                    var store = Path.Combine(work, $"seed-store-r{rep}");
                    var (seconds, output) = await ProcessTimer.RunAsync($"merge-files (repetition {rep})", ProcessTimer.MergeFiles(
                        ["--store", store, "--files", files.ToString(CultureInfo.InvariantCulture), "--seed", Seed.ToString(CultureInfo.InvariantCulture), "--json", "--progress", "none"])).ConfigureAwait(false);
                    await CheckSameAsync("merge-files", Path.Combine(store, "output", "merged.txt"), expected).ConfigureAwait(false);
                    whole.Add(seconds);
                    run.Add(WallSeconds(output));
                    Progress($"seed rep {rep}/{repetitions}: merge-files {seconds:0.000} s, its run {run[^1]:0.000} s");
                    Directory.Delete(store, recursive: true);
                }
                else
                {
                    var folder = Path.Combine(work, $"seed-shell-r{rep}");
                    CopyFolder(Path.Combine(inputs, "input"), Path.Combine(folder, "input"));
                    var (seconds, _) = await ProcessTimer.RunAsync($"the cat cascade (repetition {rep})", ProcessTimer.Of("bash", script, folder)).ConfigureAwait(false);
                    await CheckSameAsync("the cat cascade", Path.Combine(folder, "merged.txt"), expected).ConfigureAwait(false);
                    if (Directory.GetFiles(folder).Length != 1)
                    {
                        throw new InvalidOperationException($"the cat cascade left {Directory.GetFiles(folder).Length - 1} intermediate files");
                    }

                    shell.Add(seconds);
                    Progress($"seed rep {rep}/{repetitions}: cat cascade {seconds:0.000} s");
                    Directory.Delete(folder, recursive: true);
                }
            }
        }

        Directory.Delete(inputs, recursive: true);
        var shellName = $"bash cascade, {files - 1} × `cat a b > c`";
        return new BenchmarkResult(
            "Seed cascade",
            string.Create(CultureInfo.InvariantCulture, $"{files} one-letter objects merged pairwise ({files} -> {files / 2} -> ... -> 1; {files - 1} tasks) by the merge-files example ({Describe(ProcessTimer.MergeFiles([]))}) in a fresh local store folder each repetition, against a bash script doing the same cascade on the same {files} files (copied in untimed), one `cat a b > c` per pair and one `rm` of the consumed intermediates per level (Dataflow deletes each intermediate as soon as it is consumed; one `rm` per level favours the baseline), timed as a whole process. Both outputs are compared with the inputs' concatenation."),
            [
                Comparison.Of("merge-files, whole process (start-up, creating the 512 inputs, run, verification)", whole, shellName, shell, string.Empty),
                Comparison.Of("merge-files, its run alone (`wallMs`)", run, shellName, shell, string.Empty),
            ],
            Repetitions(("merge-files, whole process", whole), ("merge-files, its run", run), ("the cat cascade", shell)));
    }

    /// <summary>Every repetition's seconds, in the order run, as a Markdown list.</summary>
    internal static string Repetitions(params (string Name, List<double> Seconds)[] cases) =>
        "Every repetition (seconds, in the order run; the Dataflow case went first in the odd ones):\n\n"
        + string.Concat(cases.Select(c => $"- {c.Name}: {string.Join(", ", c.Seconds.Select(s => s.ToString("0.000", CultureInfo.InvariantCulture)))}\n"));

    internal static async Task WriteInputsAsync(string folder, int files, long size)
    {
        var store = ObjectStore.OpenFolder(folder);
        await using (store.ConfigureAwait(false))
        {
            await InputGenerator.WriteAsync(store, "input/", files, size, Seed, Environment.ProcessorCount, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The input files of a store folder, in key order (the order merge-files concatenates them in).</summary>
    internal static string[] InputFiles(string store) =>
        [.. Directory.GetFiles(Path.Combine(store, "input")).Order(StringComparer.Ordinal)];

    internal static async Task<byte[]> ConcatenateAsync(IEnumerable<string> files)
    {
        using var all = new MemoryStream();
        foreach (var file in files)
        {
            all.Write(await File.ReadAllBytesAsync(file).ConfigureAwait(false));
        }

        return all.ToArray();
    }

    internal static async Task CheckSameAsync(string name, string path, byte[] expected)
    {
        var actual = File.Exists(path) ? await File.ReadAllBytesAsync(path).ConfigureAwait(false) : null;
        if (actual is null || !actual.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException($"{name}: '{path}' is {(actual is null ? "missing" : $"{actual.Length} bytes")}, not the {expected.Length} bytes of the inputs concatenated in key order");
        }
    }

    internal static async Task<(long Size, string Hash)> HashAsync(string path)
    {
        if (!File.Exists(path))
        {
            return (-1, "missing");
        }

        var hash = new XxHash128();
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            await hash.AppendAsync(stream).ConfigureAwait(false);
            return (stream.Length, Convert.ToHexStringLower(hash.GetCurrentHash()));
        }
    }

    internal static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    /// <summary>The run's wall time from the summary merge-files prints with <c>--json</c>.</summary>
    internal static double WallSeconds(string output)
    {
        var json = output[output.IndexOf('{', StringComparison.Ordinal)..];
        using var summary = JsonDocument.Parse(json);
        if (!summary.RootElement.GetProperty("verified").GetBoolean())
        {
            throw new InvalidOperationException("merge-files did not verify its output: " + output);
        }

        return summary.RootElement.GetProperty("wallMs").GetInt64() / 1000.0;
    }

    private static string Describe(ProcessStartInfo start) =>
        start.FileName == "dotnet" ? "`dotnet merge-files.dll`" : "its apphost, `merge-files`";

    internal static void Progress(string message) => Console.Error.WriteLine("e2e: " + message);
}
