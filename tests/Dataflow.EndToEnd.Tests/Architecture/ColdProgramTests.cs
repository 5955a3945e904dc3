namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// A program loads only what its command uses: merge-files' default run on a folder store loads none of the S3 SDK,
/// the Kubernetes client, the telemetry (logging and exporters), the console UI, the web UI's server (ASP.NET Core) or a resilience library (task
/// retries are a loop of their own; Polly serves S3); the same run on S3 does load the S3 SDK (so that the check can
/// tell). Read from <c>$DATAFLOW_LOADED_ASSEMBLIES</c>, the list the program writes as it ends.
/// </summary>
public sealed class ColdProgramTests : IDisposable
{
    /// <summary>Assemblies, and families of them (a name and what starts with it and a dot), a folder run does not need.</summary>
    private static readonly string[] s_notForAFolderRun =
        ["AWSSDK", "KubernetesClient", "YamlDotNet", "OpenTelemetry", "Spectre.Console", "System.Net.Http", "Polly", "System.ComponentModel.Annotations", "Microsoft.AspNetCore", "Microsoft.Extensions.Hosting"];

    /// <summary>Single assemblies a folder run without --log-level does not need (the logging abstractions it does).</summary>
    private static readonly string[] s_loggingMachinery = ["Microsoft.Extensions.Logging", "Microsoft.Extensions.Logging.Console"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public ColdProgramTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task DefaultRunOnAFolder_LoadsNoS3KubernetesTelemetryOrConsoleUi()
    {
        var loaded = await RunAsync(new Dictionary<string, string>(), "--store", Path.Combine(_root, "store"), "--files", "16");

        Assert.Contains("Dataflow.Worker", loaded);
        Assert.Contains("Dataflow.Storage", loaded);
        var heavy = loaded.Where(a => s_loggingMachinery.Contains(a) || s_notForAFolderRun.Any(h => a == h || a.StartsWith(h + ".", StringComparison.Ordinal))).ToList();
        Assert.True(heavy.Count == 0, $"a run on a folder loaded {string.Join(", ", heavy)}");
    }

    [Fact]
    public async Task RunOnS3_LoadsTheS3Sdk()
    {
        var loaded = await RunAsync(S3TestServer.ProgramEnvironment(), "--store", $"s3://{S3TestServer.NewBucket("cold")}/run", "--files", "4");

        Assert.Contains("AWSSDK.S3", loaded);
        Assert.DoesNotContain("KubernetesClient", loaded);
    }

    private async Task<List<string>> RunAsync(Dictionary<string, string> environment, params string[] args)
    {
        var list = Path.Combine(_root, $"loaded-{Guid.NewGuid():N}.txt");
        environment["DATAFLOW_LOADED_ASSEMBLIES"] = list;
        var result = await ProgramRunner.RunAsync("merge-files", environment, ["run", .. args, "--json"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Json().GetProperty("verified").GetBoolean(), result.ToString());
        Assert.True(File.Exists(list), $"merge-files wrote no {list}");
        return [.. await File.ReadAllLinesAsync(list)];
    }
}
