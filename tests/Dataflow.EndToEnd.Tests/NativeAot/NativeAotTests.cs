namespace Dataflow.EndToEnd.Tests.NativeAot;

/// <summary>
/// merge-files published as a Native AOT program (deploy/Dockerfile's worker image) on every path it takes: a local
/// run on a folder and on S3, a run whose tasks are worker processes of the AOT program, and pods of Indexed Jobs and
/// of an Argo Workflow (driven by the JIT build, which the AOT program asks for when given a cluster executor).
/// </summary>
[Collection(PublishedPrograms.Name)]
public sealed class NativeAotTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));
    private string _program = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _program = await NativeAotProgram.MergeFilesAsync();
    }

    public Task DisposeAsync()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return Task.CompletedTask;
    }

    [Fact]
    public void Published_IsOneNativeExecutable()
    {
        // No assemblies for a runtime to load, and an ELF file, not a host that starts one.
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(_program)!, "*.dll"));
        using var file = File.OpenRead(_program);
        var magic = new byte[4];
        file.ReadExactly(magic);
        Assert.Equal("\u007fELF"u8.ToArray(), magic);
    }

    [Fact]
    public async Task SeedCascade_AotProgram_VerifiedWithNothingLeft()
    {
        var result = await RunAsync(_program, null, "run", "--store", Path.Combine(_root, "seed"), "--json", "--progress", "none");

        AssertVerified(result, tasks: 511);
        Assert.Equal(511, result.Json().GetProperty("tasksRun").GetInt32());
    }

    [Fact]
    public async Task WorkerProcesses_AotProgramAsDriverAndWorkers_Verified()
    {
        var result = await RunAsync(_program, null, "run", "--store", Path.Combine(_root, "process"), "--files", "64", "--executor", "process", "--json", "--progress", "none");

        AssertVerified(result, tasks: 63);
        Assert.Equal(63, result.Json().GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task OnS3_AotProgram_ComposesAndVerifies()
    {
        var bucket = S3TestServer.NewBucket("aot-e2e");

        // Inputs above the reference threshold: the final merge is a multipart upload of server-side copies.
        var result = await RunAsync(_program, S3TestServer.ProgramEnvironment(), "run", "--store", $"s3://{bucket}/run", "--files", "8", "--file-size", "6MiB", "--json", "--progress", "none");

        AssertVerified(result, tasks: 7);
        Assert.Equal($"s3://{bucket}/run/output/merged.txt", result.Json().GetProperty("output").GetString());
    }

    [Theory]
    [InlineData("kubernetes", 20)]
    [InlineData("argo", 22)]
    public async Task OnACluster_PodsRunTheAotProgram_Verified(string executor, int pods)
    {
        await using var cluster = await ClusterFixture.StartAsync(_root, images: new Dictionary<string, string> { ["merge-files"] = _program });
        var store = Path.Combine(_root, executor);

        // The JIT build drives; every pod (an Argo Workflow's publish step and exit handler too) is the AOT program.
        var result = await ProgramRunner.RunAsync("merge-files", ["run", "--store", store, "--json", "--progress", "none", "--volume-claim", "dataflow-data", "--tasks-per-pod", "32", .. cluster.Options(executor, "merge-files")]);

        AssertVerified(result, tasks: 511);
        Assert.Equal(pods, cluster.Server.Pods.Count);
        Assert.All(cluster.Server.Pods, pod => Assert.True(pod.Phase == "Succeeded", $"pod {pod.Name}: {pod.Phase}, exit code {pod.ExitCode}\n{pod.Log}"));
    }

    [Theory]
    [InlineData("kubernetes")]
    [InlineData("argo")]
    public async Task ClusterExecutor_AotProgram_ExitsTwoAskingForTheJitBuild(string executor)
    {
        var result = await RunAsync(_program, null, "run", "--store", Path.Combine(_root, "refused"), "--executor", executor, "--image", "registry.example/merge-files:test", "--progress", "none");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("is a Native AOT build, which cannot drive a cluster", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("run the driver with the JIT build", result.Stderr, StringComparison.Ordinal);
    }

    private static void AssertVerified(ProgramResult result, int tasks)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Equal("succeeded", json.GetProperty("status").GetString());
        Assert.Equal(tasks, json.GetProperty("tasks").GetInt32());
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
    }

    private static Task<ProgramResult> RunAsync(string program, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        ProgramRunner.RunExecutableAsync(program, args, environment);
}
