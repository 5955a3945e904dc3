namespace Dataflow.EndToEnd.Tests.Kubernetes;

/// <summary>
/// deploy/Dockerfile cannot be built here (no Docker engine), so what it does is done without it: the driver
/// image's publish command (the JIT build), then the published program run from the publish folder as the image runs
/// it — as the driver, and as the worker processes the driver starts. The worker image's Native AOT publish is
/// <see cref="NativeAot.NativeAotProgram"/>'s.
/// </summary>
[Collection(NativeAot.PublishedPrograms.Name)]
public sealed class DockerfileTests : IDisposable
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
        // The driver image's publish (the JIT build, ReadyToRun); the worker image's (Native AOT) is NativeAotTests',
        // into a folder of our own.
        var app = Path.Combine(_root, "app");
        var args = DeployDockerfile.PublishArguments(aot: false, app);
        Assert.Contains("-p:PublishReadyToRun=true", args);
        var published = await ProgramRunner.RunExecutableAsync("dotnet", args, workingDirectory: ClusterFixture.RepositoryRoot());
        Assert.True(published.ExitCode == 0, published.ToString());

        var program = Path.Combine(app, "merge-files");
        Assert.True(File.Exists(program), $"no {program} after publishing");
        var run = await ProgramRunner.RunExecutableAsync(program, ["run", "--store", Path.Combine(_root, "store"), "--files", "16", "--executor", "process", "--json", "--progress", "none"], workingDirectory: _root);

        Assert.True(run.ExitCode == 0, run.ToString());
        var json = run.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), run.ToString());
        Assert.Equal(15, json.GetProperty("tasksRun").GetInt32());
    }

    [Fact]
    public void DefaultTarget_IsTheNativeAotWorkerOnRuntimeDeps()
    {
        var stages = DeployDockerfile.Stages();

        // docker build without --target builds the last stage: the worker, with no .NET runtime, from the AOT build.
        Assert.Equal(("mcr.microsoft.com/dotnet/runtime-deps:${DOTNET_VERSION}", "worker"), stages[^1]);
        // The driver is framework-dependent and every program has the ui command (Kestrel): ASP.NET Core's runtime image.
        Assert.Contains(("mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}", "driver"), stages);
        Assert.Contains("COPY --from=worker-build /app/${PROGRAM} ./", DeployDockerfile.Text, StringComparison.Ordinal);
    }
}
