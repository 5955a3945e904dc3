using System.Diagnostics;
using System.Text.Json;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// tests/Dataflow.WorkerOnly — a program whose one reference is Dataflow.Worker — runs a job on the local executor
/// without the Kubernetes client, the command-line parser, the console UI or a telemetry exporter: none is loaded in
/// its process, and none is even in its dependency closure (its deps.json).
/// </summary>
public sealed class WorkerOnlyProgramTests
{
    private const string Program = "Dataflow.WorkerOnly";

    /// <summary>Assembly and package name prefixes a Worker-only program must not have.</summary>
    private static readonly string[] s_forbidden =
        ["KubernetesClient", "System.CommandLine", "Spectre.Console", "OpenTelemetry.Exporter", "Dataflow.Kubernetes", "Dataflow.Hosting"];

    [Fact]
    public async Task WorkerOnlyProgram_RunsAMerge_VerifiesItAndLoadsNoneOfTheHeavyAssemblies()
    {
        var result = await RunAsync();

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("verified: True", lines);
        using var summary = JsonDocument.Parse(lines.Single(l => l.StartsWith("summary: ", StringComparison.Ordinal))["summary: ".Length..]);
        Assert.Equal(15, summary.RootElement.GetProperty("tasks").GetInt32()); // 16 inputs, fan-in 2: 8 + 4 + 2 + 1
        var loaded = lines.Where(l => l.StartsWith("assembly: ", StringComparison.Ordinal)).Select(l => l["assembly: ".Length..]).ToList();
        Assert.Contains("Dataflow.Worker", loaded);
        Assert.Contains("Dataflow.Planner", loaded);
        Assert.Contains("Dataflow.Storage", loaded);
        var forbidden = loaded.Where(IsForbidden).ToList();
        Assert.True(forbidden.Count == 0, $"loaded: {string.Join(", ", forbidden)}\n{result}");
    }

    [Fact]
    public void WorkerOnlyProgram_DepsJson_HasOnlyWorkerAndWhatItBrings()
    {
        var depsJson = Path.Combine(Repository.OutputFolder("tests", Program), Program + ".deps.json");
        Assert.True(File.Exists(depsJson), $"{depsJson} is missing: build the solution first");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsJson));

        // Every library of the closure, and every dependency any of them names.
        var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name.Split('/')[0]).ToList();
        var dependencies = deps.RootElement.GetProperty("targets").EnumerateObject()
            .SelectMany(target => target.Value.EnumerateObject())
            .SelectMany(library => library.Value.TryGetProperty("dependencies", out var d) ? d.EnumerateObject().Select(p => p.Name) : [])
            .ToList();

        Assert.Contains("Dataflow.Worker", libraries);
        var offenders = libraries.Concat(dependencies).Where(n => IsForbidden(n) || n.StartsWith("xunit", StringComparison.OrdinalIgnoreCase)
            || n.StartsWith("Microsoft.NET.Test.Sdk", StringComparison.OrdinalIgnoreCase)).Distinct().ToList();
        Assert.True(offenders.Count == 0, $"{depsJson} lists {string.Join(", ", offenders)}");
    }

    private static bool IsForbidden(string name) =>
        s_forbidden.Any(f => name.Equals(f, StringComparison.OrdinalIgnoreCase) || name.StartsWith(f + ".", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Runs the program, built by the ProjectReference in this test project, from its own output folder (the same
    /// configuration and framework as these tests), as <c>dotnet Dataflow.WorkerOnly.dll</c>.
    /// </summary>
    private static async Task<ProgramResult> RunAsync()
    {
        var program = Path.Combine(Repository.OutputFolder("tests", Program), Program + ".dll");
        Assert.True(File.Exists(program), $"{program} is not built");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(program);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);
        return new ProgramResult(process.ExitCode, await stdout, await stderr);
    }
}
