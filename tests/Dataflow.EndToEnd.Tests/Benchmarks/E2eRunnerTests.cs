using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Dataflow.EndToEnd.Tests.Benchmarks;

/// <summary>
/// The benchmark runner's <c>e2e</c> verb, run as a process as the README tells users to run it, on its cheapest case:
/// it must finish, check its outputs and print its ratios. No timing is asserted.
/// </summary>
public sealed partial class E2eRunnerTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task E2e_QuickSeedCascadeOnce_ExitsZeroAndPrintsItsRatios()
    {
        var result = await RunAsync("e2e", "--quick", "--only", "seed", "--repetitions", "1");

        Assert.True(result.ExitCode == 0, result.ToString());
        var ratios = result.Stdout.Split('\n').Where(l => RatioLine().IsMatch(l)).ToList();
        Assert.True(ratios.Count == 2, result.ToString());
        Assert.Contains("## Seed cascade", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("## Big merge", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task E2e_QuickProcessExecutorOnce_ExitsZeroAndPrintsBothMergesRatios()
    {
        var result = await RunAsync("e2e", "--quick", "--only", "process", "--repetitions", "1");

        Assert.True(result.ExitCode == 0, result.ToString());
        var ratios = result.Stdout.Split('\n').Where(l => ProcessRatioLine().IsMatch(l)).ToList();
        Assert.True(ratios.Count == 2, result.ToString());
        Assert.Contains("seed cascade (511 tasks)", ratios[0], StringComparison.Ordinal);
        Assert.Contains("fan-in 4 merge (102 tasks)", ratios[1], StringComparison.Ordinal);
        Assert.Contains("## Details: Process executor", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task E2e_QuickCacheOnce_ExitsZeroAndPrintsEveryScenariosRatios()
    {
        var result = await RunAsync("e2e", "--quick", "--only", "cache", "--repetitions", "1");

        // The verb itself fails (exit 1) when a warm run runs a task, a changed run runs other tasks than the changed
        // input's path, or an output differs from the cold run's or from the --cache off run's.
        Assert.True(result.ExitCode == 0, result.ToString());
        var ratios = result.Stdout.Split('\n').Where(l => CacheRatioLine().IsMatch(l)).ToList();
        Assert.True(ratios.Count == 15, result.ToString());
        Assert.Contains(ratios, l => l.Contains("seed cascade: warm run (0 of 511 tasks run)", StringComparison.Ordinal));
        Assert.Contains(ratios, l => l.Contains("seed cascade, `--executor process`: one input changed (9 tasks run)", StringComparison.Ordinal));
        Assert.Contains(ratios, l => l.Contains("word count, 65 × 128.0 KiB: one input changed (5 tasks run)", StringComparison.Ordinal));
        Assert.Contains("## Details: Task cache: cold, warm, one input changed", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("## Seed cascade", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task E2e_UnknownBenchmark_ExitsTwoAndNamesIt()
    {
        var result = await RunAsync("e2e", "--only", "seed,nope");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("'nope'", result.Stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^- ratio, seed cascade: .+ vs .+: \d+\.\d\dx \(\d+\.\d{3} s vs \d+\.\d{3} s\)$")]
    private static partial Regex RatioLine();

    [GeneratedRegex(@"^- ratio, task cache: cold, warm, one input changed: .+ vs .+: \d+\.\d\dx \(\d+\.\d{3} s vs \d+\.\d{3} s\)$")]
    private static partial Regex CacheRatioLine();

    [GeneratedRegex(@"^- ratio, process executor: .+ vs the same run on the local executor: \d+\.\d\dx \(\d+\.\d{3} s vs \d+\.\d{3} s\)$")]
    private static partial Regex ProcessRatioLine();

    /// <summary>
    /// Runs the benchmark program, built by the ProjectReference in the test project, from its own output folder
    /// (it needs its dependencies and the merge-files example beside it): the same configuration and framework as these tests.
    /// </summary>
    private static async Task<ProgramResult> RunAsync(params string[] args)
    {
        var testFolder = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (testFolder.Name, testFolder.Parent!.Name);
        var root = testFolder;
        while (root is not null && !Directory.Exists(Path.Combine(root.FullName, "benchmarks", "Dataflow.Benchmarks")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var program = Path.Combine(root.FullName, "benchmarks", "Dataflow.Benchmarks", "bin", configuration, framework, "Dataflow.Benchmarks.dll");
        Assert.True(File.Exists(program), $"{program} is not built");

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(program);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(s_patience);
        return new ProgramResult(process.ExitCode, await stdout, await stderr);
    }
}
