using System.Diagnostics;
using Amazon.S3;
using Amazon.S3.Model;
using Xunit.Abstractions;

namespace Dataflow.EndToEnd.Tests.Kubernetes;

/// <summary>
/// The example programs run on "Kubernetes" as users run them — <c>--executor kubernetes</c> (an Indexed Job per
/// stage) and <c>--executor argo</c> (one Argo Workflow) — against the loopback API server of
/// <see cref="ClusterFixture"/>, whose pods are processes of the same programs. Outputs are verified by the programs
/// (merge-files against the inputs' concatenation, word-count against a single-threaded count).
/// </summary>
public sealed class ClusterRunTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));
    private readonly string _bucket = $"k8s-e2e-{Guid.NewGuid():N}"[..30];
    private AmazonS3Client _client = null!;
    private ClusterFixture _cluster = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _client = S3TestServer.CreateClient();
        _cluster = await ClusterFixture.StartAsync(_root, new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = S3TestServer.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = S3TestServer.SecretKey,
        });
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _client.Dispose();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static Task<ProgramResult> RunAsync(string program, params string[] args) =>
        ProgramRunner.RunAsync(program, S3TestServer.ProgramEnvironment(), args);

    [Theory]
    [InlineData("kubernetes")]
    [InlineData("argo")]
    public async Task MergeFiles_SeedCascadeOnAVolumeClaim_IsVerifiedWithNothingLeft(string executor)
    {
        // A folder store, as Alibaba's OSS demo mounts one: pods see it through the claim, at the same path.
        var store = Path.Combine(_root, "seed");

        // The seed job: 512 one-letter objects, fan-in 2; 32 tasks per pod keeps the pod count (20) small for a test.
        var result = await RunAsync("merge-files", ["run", "--store", store, "--json", "--progress", "none", "--volume-claim", "dataflow-data", "--tasks-per-pod", "32", .. _cluster.Options(executor, "merge-files")]);

        AssertVerified(result, tasks: 511);

        // The summary's bytes and attempts are the workers', from their commits (taken in by the driver, or by the
        // Workflow's exit handler): those of the same job on the local executor.
        var local = await RunAsync("merge-files", "run", "--store", Path.Combine(_root, "seed-local"), "--json", "--progress", "none");
        AssertVerified(local, tasks: 511);
        foreach (var figure in new[] { "bytesRead", "bytesWritten", "attempts", "retries" })
        {
            Assert.Equal(local.Json().GetProperty(figure).GetInt64(), result.Json().GetProperty(figure).GetInt64());
        }

        Assert.True(result.Json().GetProperty("bytesRead").GetInt64() > 0, result.ToString());

        // What the pods' attempts used, from their commits too: each counted its commit record's write at least.
        var requests = result.Json().GetProperty("resources").GetProperty("total").GetProperty("requests");
        Assert.True(requests.GetProperty("put").GetInt64() >= 511, result.ToString());
        var data = Path.Combine(store, "_dataflow", "runs", result.Json().GetProperty("runId").GetString()!, "data");
        Assert.True(!Directory.Exists(data) || Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length == 0, "intermediate data is left");

        // Pods of 32 tasks: 8, 4, 2 and six stages of 1 = 20 worker pods; a Workflow adds its publish step and exit handler.
        Assert.Equal(executor == "argo" ? 22 : 20, _cluster.Server.Pods.Count);

        // The run report (by the driver, or by the Workflow's exit handler from the commit records): every task once,
        // on the row of the pod that ran it.
        var report = RunRecords.DeserializeReport(await File.ReadAllBytesAsync(Path.Combine(store, "_dataflow", "runs", result.Json().GetProperty("runId").GetString()!, "report.json")));
        Assert.Equal(executor, report.Executor);
        Assert.Equal(511, report.Attempts.Select(a => (a.Stage, a.Task)).Distinct().Count());
        Assert.All(report.Attempts, a => Assert.Equal(AttemptOutcomes.Committed, a.Outcome));
        Assert.Equal(20, report.Rows.Count);
        Assert.All(report.Rows, row => Assert.Contains(row, _cluster.Server.Pods.Select(p => p.Name)));
        Report(executor, "merge-files seed cascade (folder store on a volume claim)");
        if (executor == "argo")
        {
            // What the Workflow's status.nodes came to (the server's node records are shaped like Argo's).
            using var client = new k8s.Kubernetes(k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(_cluster.Kubeconfig));
            var list = await k8s.CustomObjectsOperationsExtensions.ListNamespacedCustomObjectAsync<System.Text.Json.Nodes.JsonObject>(client.CustomObjects, "argoproj.io", "v1alpha1", ClusterFixture.Namespace, "workflows");
            var nodes = Assert.Single(list["items"]!.AsArray())!["status"]!["nodes"]!.AsObject();
            Assert.Equal(20 + 2, nodes.Count(n => n.Value!["type"]!.GetValue<string>() == "Pod"));
            output.WriteLine($"status.nodes: {nodes.Count} nodes, {System.Text.Encoding.UTF8.GetByteCount(nodes.ToJsonString())} bytes of JSON");
        }
    }

    [Theory]
    [InlineData("kubernetes")]
    [InlineData("argo")]
    public async Task WordCount_OnS3_MatchesTheSingleThreadedCount(string executor)
    {
        var store = $"s3://{_bucket}/wc";
        var generate = await RunAsync("word-count", "generate", "--store", store, "--size", "128KiB", "--objects", "4", "--large-size", "768KiB", "--seed", "3");
        Assert.True(generate.ExitCode == 0, generate.ToString());

        var result = await RunAsync("word-count", ["run", "--store", store, "--reducers", "4", "--split-size", "256KiB", "--json", "--progress", "none", "--store-secret", ClusterFixture.StoreSecret, "--tasks-per-pod", "2", .. _cluster.Options(executor, "word-count")]);

        AssertVerified(result, tasks: null);
        Report(executor, "word-count on S3");
    }

    [Fact]
    public async Task MergeFiles_WithTheTaskCacheOnKubernetes_ARerunStartsNoPod_AndAChangedInputRunsItsPathOnly()
    {
        var store = Path.Combine(_root, "cached");
        string[] run = ["run", "--store", store, "--json", "--progress", "none", "--cache", "on", "--overwrite", "--volume-claim", "dataflow-data", "--tasks-per-pod", "32", .. _cluster.Options("kubernetes", "merge-files")];

        var cold = await RunAsync("merge-files", run);
        var podsAfterCold = _cluster.Server.Pods.Count;
        var warm = await RunAsync("merge-files", run);
        var podsAfterWarm = _cluster.Server.Pods.Count;
        await File.WriteAllTextAsync(Path.Combine(store, "input", "300.txt"), "Q");
        var changed = await RunAsync("merge-files", run);

        AssertVerified(cold, tasks: 511);
        AssertVerified(warm, tasks: 511);
        AssertVerified(changed, tasks: 511);
        Assert.Equal(511, cold.Json().GetProperty("tasksRun").GetInt32());
        Assert.Equal(0, warm.Json().GetProperty("tasksRun").GetInt32());
        Assert.Equal(511, warm.Json().GetProperty("tasksCached").GetInt32());
        Assert.Equal(9, changed.Json().GetProperty("tasksRun").GetInt32());
        Assert.Equal(20, podsAfterCold);
        // Every stage committed from the cache: no Job, no pod. With one input changed every stage has a task to run, so
        // each stage's Job runs all its indexes again (an Indexed Job runs every index): the pods whose shard is all
        // cached find their tasks committed and skip them; 9 tasks run in all.
        Assert.Equal(podsAfterCold, podsAfterWarm);
        Assert.Equal(podsAfterWarm + 20, _cluster.Server.Pods.Count);
    }

    [Fact]
    public async Task Run_WithTheTaskCacheOnArgo_IsRefusedBeforeAnythingStarts()
    {
        var result = await RunAsync("merge-files", ["run", "--store", Path.Combine(_root, "argo-cache"), "--progress", "none", "--cache", "on", "--volume-claim", "dataflow-data", .. _cluster.Options("argo", "merge-files")]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("task cache", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(_cluster.Server.Pods);
    }

    [Theory]
    [InlineData("kubernetes", "--volume-claim", "give --volume-claim")]
    [InlineData("argo", "--image", "needs --image")]
    public async Task Run_OnAClusterWithoutWhatPodsNeed_ExitsTwoSayingWhat(string executor, string left, string expected)
    {
        var options = _cluster.Options(executor, "merge-files").ToList();
        if (options.IndexOf(left) is var at and >= 0)
        {
            options.RemoveRange(at, 2);
        }

        var result = await RunAsync("merge-files", ["run", "--store", Path.Combine(_root, "refused"), "--progress", "none", .. options]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.Empty(_cluster.Server.Pods);
    }

    [Fact]
    public async Task MergeFiles_PodKilledOnKubernetes_TheJobRetriesThatIndexOnly()
    {
        var store = Path.Combine(_root, "killed");
        var killed = 0;
        _cluster.Server.PodStarted += (_, pod) =>
        {
            // The first attempt of index 1 of the first stage's Job: SIGKILLed as it starts, as a node failure would.
            if (pod.CompletionIndex == 1 && pod.Attempt <= 1 && pod.JobName is { } job && job.Contains("-s0-", StringComparison.Ordinal) && Interlocked.Exchange(ref killed, 1) == 0)
            {
                pod.Kill();
            }
        };

        var result = await RunAsync("merge-files", ["run", "--store", store, "--json", "--progress", "none", "--volume-claim", "dataflow-data", "--tasks-per-pod", "32", .. _cluster.Options("kubernetes", "merge-files")]);

        AssertVerified(result, tasks: 511);
        Assert.Equal(1, killed);
        var stage0 = _cluster.Server.Pods.Where(p => p.JobName?.Contains("-s0-", StringComparison.Ordinal) == true).ToList();
        Assert.Equal(2, stage0.Count(p => p.CompletionIndex == 1));
        Assert.All(stage0.Where(p => p.CompletionIndex != 1).GroupBy(p => p.CompletionIndex), g => Assert.Single(g));
        Assert.Equal(8, stage0.Select(p => p.CompletionIndex).Distinct().Count());
        Assert.True(result.Json().GetProperty("retries").GetInt32() >= 1, result.ToString());
    }

    [Fact]
    public async Task Run_InterruptedOnKubernetes_DeletesTheRunningJobAndItsPods()
    {
        var store = Path.Combine(_root, "interrupted");
        var (process, started) = StartSlowSeedRun("kubernetes", store, "interrupted");
        using var _ = process;
        var stderr = process.StandardError.ReadToEndAsync();

        // Ctrl+C while the first stage's pods (256, 4 at a time) are running.
        await started.WaitAsync(ProgramRunner.Patience);
        Assert.Equal(0, Signals.Interrupt(process.Id));
        await process.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);

        Assert.True(process.ExitCode == 130, $"exit code {process.ExitCode}; stderr: {await stderr}");
        await Task.WhenAll(_cluster.Server.Pods.Select(p => p.Exited)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(_cluster.Server.Requests.Any(r => r is { Verb: "delete", Resource: "jobs", StatusCode: 200 }), $"no delete: {_cluster.DescribeRequests()}; stderr: {await stderr}");
        Assert.True(_cluster.Server.Pods.Count < 256, $"{_cluster.Server.Pods.Count} pods ran: the Job was not stopped");
        Assert.False(File.Exists(Path.Combine(store, "output", "merged.txt")));
    }

    [Fact]
    public async Task Run_FollowingAnArgoWorkflow_RunShowsRunningForItsWorkflowAndGcRefusesIt()
    {
        var store = Path.Combine(_root, "followed");
        var (process, started) = StartSlowSeedRun("argo", store, "followed");
        using var _ = process;
        var stderr = process.StandardError.ReadToEndAsync();

        // While the first stage's pods (256, 4 at a time) run, the driver holds the run's lease for the workflow.
        // (It names the workflow in its lease as soon as the server has named the workflow: moments after pods start.)
        await started.WaitAsync(ProgramRunner.Patience);
        var lease = Path.Combine(store, "_dataflow", "runs", "followed", "lease.json");
        var deadline = DateTime.UtcNow + ProgramRunner.Patience;
        while (!(File.Exists(lease) && (await File.ReadAllTextAsync(lease)).Contains("\"workflow\"", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var runs = await RunAsync("merge-files", "runs", "--store", store, "--json");
        var gc = await RunAsync("merge-files", "gc", "followed", "--store", store);
        Assert.Equal(0, Signals.Interrupt(process.Id));
        await process.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);

        Assert.True(runs.ExitCode == 0, runs.ToString());
        var run = Assert.Single(runs.Json().EnumerateArray());
        Assert.Equal("running", run.GetProperty("state").GetString());
        Assert.StartsWith("dataflow-merge-files-followed-", run.GetProperty("lease").GetProperty("workflow").GetString(), StringComparison.Ordinal);
        Assert.Equal(511, run.GetProperty("tasks").GetInt32());
        Assert.True(gc.ExitCode == 1, gc.ToString());
        Assert.Contains("gc refuses", gc.Stderr, StringComparison.Ordinal);
        Assert.True(gc.Stderr.Contains("following Argo Workflow dataflow-merge-files-followed-", StringComparison.Ordinal), gc.ToString());
        Assert.True(process.ExitCode == 130, $"exit code {process.ExitCode}; stderr: {await stderr}");

        // Cancelled: the workflow is gone, the lease released; the run says so and may be resumed or collected.
        var after = await RunAsync("merge-files", "status", "followed", "--store", store);
        Assert.Contains("run followed of job 'merge-files': cancelled", after.Stdout, StringComparison.Ordinal);
        Assert.Contains("lease: none", after.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_RoleWithoutWatch_FailsWithTheServersRefusal()
    {
        await using var cluster = await ClusterFixture.StartAsync(_root, rbac: """
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata:
              name: no-watch
            rules:
              - apiGroups: ["batch"]
                resources: ["jobs"]
                verbs: ["create", "get", "delete"]
            """);

        var result = await RunAsync("merge-files", ["run", "--store", Path.Combine(_root, "forbidden"), "--progress", "none", "--volume-claim", "dataflow-data", "--tasks-per-pod", "64", .. cluster.Options("kubernetes", "merge-files")]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Forbidden", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(cluster.Server.Requests, r => r is { Verb: "watch", Resource: "jobs", StatusCode: 403 });
    }

    [Theory]
    [InlineData("kubernetes", "Job ")]
    [InlineData("argo", "workflow ")]
    public async Task Run_APodFailsForGood_RunFailsKeepingWhatCommittedAndResumeFinishesIt(string executor, string failed)
    {
        var store = Path.Combine(_root, $"failing-{executor}");
        var input = Path.Combine(store, "input", "077.txt");
        byte[]? removed = null;
        var modified = DateTime.MinValue;
        var once = 0;
        _cluster.Server.PodStarted += (_, _) =>
        {
            // An input disappears once the run has started: the pod whose tasks read it fails on every attempt.
            if (Interlocked.Exchange(ref once, 1) == 0)
            {
                removed = File.ReadAllBytes(input);
                modified = File.GetLastWriteTimeUtc(input);
                File.Delete(input);
            }
        };
        string[] cluster = ["--progress", "none", "--volume-claim", "dataflow-data", "--tasks-per-pod", "32", "--pod-retries", "1", .. _cluster.Options(executor, "merge-files")];

        var run = await RunAsync("merge-files", ["run", "--store", store, "--run-id", "failing", .. cluster]);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(failed, run.Stderr, StringComparison.Ordinal);
        Assert.Contains("resume failing", run.Stderr, StringComparison.Ordinal);
        var status = await RunAsync("merge-files", "status", "failing", "--store", store);
        Assert.Contains("run failing of job 'merge-files': failed", status.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"stage 0 'level-1': \d+/256 committed", status.Stdout);

        // The input is back, as it was (its bytes and its time, so the same version the run planned with): resume runs
        // what did not commit, on the same executor.
        await File.WriteAllBytesAsync(input, removed!);
        File.SetLastWriteTimeUtc(input, modified);
        var resume = await RunAsync("merge-files", ["resume", "failing", "--store", store, "--json", .. cluster]);

        AssertVerified(resume, tasks: 511);
    }

    /// <summary>
    /// Starts the seed cascade as run <paramref name="runId"/> on <paramref name="executor"/>, slowly (a pod per task,
    /// 4 at a time: 256 pods in the first stage), with Ctrl+C delivered as in a terminal; the task completes when the
    /// first pod starts.
    /// </summary>
    private (Process Process, Task Started) StartSlowSeedRun(string executor, string store, string runId)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _cluster.Server.PodStarted += (_, _) => started.TrySetResult();
        var process = Signals.StartWithDefaultSigInt(ProgramRunner.StartInfo(
            "merge-files",
            ["run", "--store", store, "--run-id", runId, "--progress", "none", "--volume-claim", "dataflow-data", "--tasks-per-pod", "1", "--pod-parallelism", "4", .. _cluster.Options(executor, "merge-files")],
            S3TestServer.ProgramEnvironment()));
        return (process, started.Task);
    }

    private static void AssertVerified(ProgramResult result, int? tasks)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Equal("succeeded", json.GetProperty("status").GetString());
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
        if (tasks is { } t)
        {
            Assert.Equal(t, json.GetProperty("tasks").GetInt32());
        }
    }

    private void Report(string executor, string what) =>
        output.WriteLine($"{what}, --executor {executor}: {_cluster.Server.Requests.Count} API requests ({_cluster.DescribeRequests()}); {_cluster.Server.Pods.Count} pods");

    private async Task<int> CountAsync(string prefix) =>
        (await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix })).S3Objects?.Count ?? 0;
}
