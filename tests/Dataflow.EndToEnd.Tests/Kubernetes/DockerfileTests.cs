using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Dataflow.EndToEnd.Tests.Kubernetes;

/// <summary>
/// deploy/Dockerfile cannot be built here (no Docker engine), so what it does is done without it: the driver
/// image's publish command (the JIT build), then the published program run from the publish folder as the image runs
/// it — as the driver, and as the worker processes the driver starts. The worker image's Native AOT publish is
/// <see cref="NativeAot.NativeAotProgram"/>'s.
/// </summary>
[Collection(NativeAot.PublishedPrograms.Name)]
public sealed partial class DockerfileTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public DockerfileTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task PublishedAsTheDockerfileDoes_TheProgramRunsAsDriverAndWorkers()
    {
        var repository = ClusterFixture.RepositoryRoot();
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(repository, "deploy", "Dockerfile"));
        var project = ArgDefault().Matches(dockerfile).Where(m => m.Groups["name"].Value == "PROJECT").Select(m => m.Groups["value"].Value).Distinct(StringComparer.Ordinal).Single();
        // The driver image's publish (the JIT build); the worker image's (Native AOT) is NativeAotTests'.
        var publish = PublishCommand().Matches(dockerfile).Single(m => !m.Value.Contains("PublishAot", StringComparison.Ordinal));
        Assert.Contains("-o /app", publish.Value, StringComparison.Ordinal);

        // Its flags, into a folder of our own (a build for the runtime identifier, then ReadyToRun compilation).
        var app = Path.Combine(_root, "app");
        var rid = ArgDefault().Matches(dockerfile).Where(m => m.Groups["name"].Value == "RID").Select(m => m.Groups["value"].Value).Distinct(StringComparer.Ordinal).Single();
        var args = publish.Groups["args"].Value
            .Replace("\"$PROJECT\"", project, StringComparison.Ordinal)
            .Replace("$RID", rid, StringComparison.Ordinal)
            .Replace("-o /app", $"-o {app}", StringComparison.Ordinal);
        Assert.Contains("-p:PublishReadyToRun=true", args, StringComparison.Ordinal);
        var published = await RunAsync("dotnet", repository, ["publish", .. args.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        Assert.True(published.ExitCode == 0, published.ToString());

        var program = Path.Combine(app, "merge-files");
        Assert.True(File.Exists(program), $"no {program} after publishing");
        var run = await RunAsync(program, _root, ["run", "--store", Path.Combine(_root, "store"), "--files", "16", "--executor", "process", "--json", "--progress", "none"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var json = run.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), run.ToString());
        Assert.Equal(15, json.GetProperty("tasksRun").GetInt32());
    }

    [Fact]
    public async Task DefaultTarget_IsTheNativeAotWorkerOnRuntimeDeps()
    {
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(ClusterFixture.RepositoryRoot(), "deploy", "Dockerfile"));
        var stages = FromLine().Matches(dockerfile).Select(m => (Image: m.Groups["image"].Value, Name: m.Groups["name"].Value)).ToList();

        // docker build without --target builds the last stage: the worker, with no .NET runtime, from the AOT build.
        Assert.Equal(("mcr.microsoft.com/dotnet/runtime-deps:${DOTNET_VERSION}", "worker"), stages[^1]);
        Assert.Contains(("mcr.microsoft.com/dotnet/runtime:${DOTNET_VERSION}", "driver"), stages);
        Assert.Contains("COPY --from=worker-build /app/${PROGRAM} ./", dockerfile, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^FROM (?<image>\S+) AS (?<name>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^ARG (?<name>[A-Z_]+)=(?<value>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ArgDefault();

    [GeneratedRegex(@"^RUN dotnet publish (?<args>.+)$", RegexOptions.Multiline)]
    private static partial Regex PublishCommand();

    private static async Task<ProgramResult> RunAsync(string file, string directory, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);
        return new ProgramResult(process.ExitCode, await stdout, await stderr);
    }
}
