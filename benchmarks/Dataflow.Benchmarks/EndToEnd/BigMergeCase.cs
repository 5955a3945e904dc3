using System.Globalization;
using static Dataflow.Benchmarks.EndToEnd.MergeCases;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// The big merge: many large objects merged by the merge-files example (its default fan-in 2 tree) on a local folder
/// store, against <c>cat</c> of the same files into one file on the same file system — by the JIT build and, in full
/// mode, by the Native AOT build (deploy/Dockerfile's), and with <c>--fsync</c> against <c>cat</c> followed by
/// <c>sync</c> of its output. The inputs are written once and stay in the page cache for all; each output is checked
/// and deleted, and dirty pages flushed (<c>sync</c>, untimed), before the next case, so that none pays for
/// another's writes.
/// </summary>
internal static class BigMergeCase
{
    private const string Jit = "jit", Aot = "aot", AotFsync = "aot-fsync", Cat = "cat", CatSync = "cat-sync";

    public static async Task<BenchmarkResult> RunAsync(string work, int files, long fileSize, int repetitions, bool nativeAot)
    {
        var aot = nativeAot ? await FixedCostCases.PublishAotAsync().ConfigureAwait(false) : null;
        var store = Path.Combine(work, "big-store");
        Progress($"big merge: writing {files} x {Dataflow.Core.ByteSize.Format(fileSize)} to {store}");
        await WriteInputsAsync(store, files, fileSize).ConfigureAwait(false);
        var inputs = InputFiles(store);
        var total = files * fileSize;
        string[] cases = aot is null ? [Jit, Cat] : [Jit, Aot, AotFsync, Cat, CatSync];
        var whole = cases.ToDictionary(c => c, _ => new List<double>());
        var run = cases.ToDictionary(c => c, _ => new List<double>());
        string? expectedHash = null;
        for (var rep = 1; rep <= repetitions; rep++)
        {
            // Alternate the order, as the other benchmarks do: what runs first may find a quieter disk.
            foreach (var which in rep % 2 == 1 ? cases : cases.Reverse())
            {
                // Each case starts from the same state: no output of another on disk, no dirty pages (sync, untimed).
                await ProcessTimer.RunAsync("sync", ProcessTimer.Of("sync")).ConfigureAwait(false);
                string output;
                if (which is Cat or CatSync)
                {
                    // sh only redirects cat's output to the file (`exec` leaves cat alone in the process); with sync,
                    // `sync FILE` flushes that one file, as --fsync flushes each object (and its folder).
                    output = Path.Combine(work, $"{which}-r{rep}.bin");
                    var script = which == Cat ? "exec cat -- \"$@\" > \"$0\"" : "cat -- \"$@\" > \"$0\" && exec sync -- \"$0\"";
                    var (seconds, _) = await ProcessTimer.RunAsync($"{which} (repetition {rep})", ProcessTimer.Of("sh", ["-c", script, output, .. inputs])).ConfigureAwait(false);
                    whole[which].Add(seconds);
                    run[which].Add(seconds);
                }
                else
                {
                    output = Path.Combine(store, "output", $"{which}-r{rep}.bin");
                    string[] args = ["--store", store, "--output", $"output/{which}-r{rep}.bin", "--json", "--progress", "none", .. which == AotFsync ? ["--fsync"] : Array.Empty<string>()];
                    var start = which == Jit ? ProcessTimer.MergeFiles(args) : ProcessTimer.Of(aot!, args);
                    var (seconds, summary) = await ProcessTimer.RunAsync($"merge-files {which} (repetition {rep})", start).ConfigureAwait(false);
                    whole[which].Add(seconds);
                    run[which].Add(WallSeconds(summary));
                }

                Progress(string.Create(CultureInfo.InvariantCulture, $"big merge rep {rep}/{repetitions}: {which} {whole[which][^1]:0.000} s, its run {run[which][^1]:0.000} s ({total / MiB / run[which][^1]:0} MiB/s)"));

                // Outside the timing: every output must be the same bytes as the first one.
                var (size, hash) = await HashAsync(output).ConfigureAwait(false);
                if (size != total || (expectedHash is not null && hash != expectedHash))
                {
                    throw new InvalidOperationException($"big merge, repetition {rep}: {which} wrote {size} bytes (XXH128 {hash}); expected {total} bytes{(expectedHash is null ? string.Empty : $" (XXH128 {expectedHash})")}, as the first case wrote");
                }

                expectedHash ??= hash;
                File.Delete(output);
            }
        }

        Directory.Delete(store, recursive: true);
        var culture = CultureInfo.InvariantCulture;
        string Speeds(IReadOnlyList<double> seconds, IReadOnlyList<double> baseline) => string.Create(culture, $"{total / MiB / Median(seconds):0} vs {total / MiB / Median(baseline):0} MiB/s");
        Comparison Row(string name, List<double> seconds, string baselineName, List<double> baseline) => Comparison.Of(name, seconds, baselineName, baseline, Speeds(seconds, baseline));
        const string CatName = "`cat` of the files into one";
        List<Comparison> rows =
        [
            Row("merge-files (JIT), its run alone (`wallMs`)", run[Jit], CatName, run[Cat]),
            Row("merge-files (JIT), whole process (start-up, run, verification)", whole[Jit], CatName, run[Cat]),
        ];
        if (aot is not null)
        {
            rows.Add(Row("merge-files (Native AOT), its run alone (`wallMs`)", run[Aot], CatName, run[Cat]));
            rows.Add(Row("merge-files (Native AOT), whole process (start-up, run, verification)", whole[Aot], CatName, run[Cat]));
            rows.Add(Row("merge-files (Native AOT) `--fsync`, its run alone (`wallMs`)", run[AotFsync], "`cat` of the files into one, then `sync` of the output", run[CatSync]));
        }

        return new BenchmarkResult(
            "Big merge",
            string.Create(culture, $"{files} objects of {Dataflow.Core.ByteSize.Format(fileSize)} ({Dataflow.Core.ByteSize.Format(total)}) merged by the merge-files example (fan-in 2, {files - 1} tasks; intermediate merges are references, the final merge copies the bytes once) on a local folder store, by its JIT build (the apphost of `dotnet build -c Release`){(aot is null ? string.Empty : ", by its Native AOT build (deploy/Dockerfile's publish command), and by that build with `--fsync` (every object and record flushed to the disk before it is renamed into place)")}, against `cat` of the same files into one file on the same file system{(aot is null ? string.Empty : " (and, for `--fsync`, `cat` then `sync` of its output)")}. The inputs are written once and stay in the page cache; each output is hashed (size and XXH128, all equal) and deleted, and `sync` run, before the next case starts (untimed). The whole process includes merge-files's own verification, which reads the output and the inputs again."),
            rows,
            "Every repetition (seconds, in the order the cases are listed; the order of the cases is reversed in the even repetitions):\n\n"
            + string.Concat(cases.Select(c => string.Create(culture, $"- {c}: whole {string.Join(", ", whole[c].Select(s => s.ToString("0.000", culture)))}; run {string.Join(", ", run[c].Select(s => s.ToString("0.000", culture)))}\n"))));
    }
}
