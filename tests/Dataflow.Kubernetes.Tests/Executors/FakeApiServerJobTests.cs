using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Dataflow.Kubernetes.Tests.Executors;

/// <summary>The tests of the loopback API server's Jobs, pods and watches.</summary>
/// <remarks>One concept, kept in one file.</remarks>
public sealed class FakeApiServerJobTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task IndexedJob_FiveCompletionsParallelismTwo_CompletesWithEveryIndex()
    {
        await using var cluster = await TestCluster.StartAsync();
        var running = 0;
        var maxRunning = 0;
        cluster.Server.PodStarted += (_, _) =>
        {
            lock (_folder)
            {
                running = cluster.Server.Pods.Count(p => p.Phase == "Running");
                maxRunning = Math.Max(maxRunning, running);
            }
        };

        var job = TestCluster.ShellJob(
            "indexed", $"echo $JOB_COMPLETION_INDEX > {_folder.Path}/index-$JOB_COMPLETION_INDEX", completions: 5, parallelism: 2, indexed: true);
        var created = await cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace);
        var events = await cluster.WatchJobUntilAsync("indexed", TestCluster.Finished);

        Assert.NotNull(created.Metadata.Uid);
        Assert.Equal(WatchEventType.Added, events[0].Type);
        Assert.All(events.Skip(1), e => Assert.Equal(WatchEventType.Modified, e.Type));
        var final = events[^1].Job;
        Assert.Contains(final.Status.Conditions, c => c.Type == "Complete" && c.Status == "True");
        Assert.Contains(final.Status.Conditions, c => c.Type == "SuccessCriteriaMet");
        Assert.Equal(5, final.Status.Succeeded);
        Assert.Equal(0, final.Status.Failed);
        Assert.Equal("0-4", final.Status.CompletedIndexes);
        Assert.NotNull(final.Status.CompletionTime);
        Assert.InRange(maxRunning, 1, 2);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(i.ToString(), File.ReadAllText(Path.Combine(_folder.Path, $"index-{i}")).Trim());
        }

        var pods = await cluster.Client.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace, labelSelector: "job-name=indexed,role");
        Assert.Equal(5, pods.Items.Count);
        Assert.All(pods.Items, p => Assert.Equal("Succeeded", p.Status.Phase));
        Assert.Equal(
            ["0", "1", "2", "3", "4"],
            pods.Items.Select(p => p.Metadata.Labels["batch.kubernetes.io/job-completion-index"]).Order());
    }

    [Fact]
    public async Task IndexedJob_IndexFailsOnce_RetriedForThatIndexOnly()
    {
        await using var cluster = await TestCluster.StartAsync();
        var marker = Path.Combine(_folder.Path, "failed-once");
        var script = $"if [ $JOB_COMPLETION_INDEX = 2 ] && [ ! -e {marker} ]; then touch {marker}; exit 1; fi";
        var job = TestCluster.ShellJob("retry", script, completions: 4, parallelism: 2, indexed: true);
        job.Spec.BackoffLimitPerIndex = 1;

        await cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace);
        var final = (await cluster.WatchJobUntilAsync("retry", TestCluster.Finished))[^1].Job;

        Assert.Contains(final.Status.Conditions, c => c.Type == "Complete");
        Assert.Equal(1, final.Status.Failed);
        Assert.Equal(4, final.Status.Succeeded);
        Assert.Equal("", final.Status.FailedIndexes ?? "");
        var pods = cluster.Server.Pods;
        Assert.Equal(2, pods.Count(p => p.CompletionIndex == 2));
        Assert.Equal([0, 1], pods.Where(p => p.CompletionIndex == 2).Select(p => p.Attempt).Order());
        Assert.All(pods.Where(p => p.CompletionIndex != 2), p => Assert.Equal(0, p.Attempt));
    }

    [Fact]
    public async Task IndexedJob_ExitCodeWithFailIndexRule_FailsWithFailedIndexes()
    {
        await using var cluster = await TestCluster.StartAsync();
        var job = TestCluster.ShellJob("fail-index", "[ $JOB_COMPLETION_INDEX = 1 ] && exit 2; exit 0", completions: 3, parallelism: 3, indexed: true);
        job.Spec.BackoffLimitPerIndex = 3;
        job.Spec.PodFailurePolicy = new V1PodFailurePolicy
        {
            Rules =
            [
                new V1PodFailurePolicyRule
                {
                    Action = "FailIndex",
                    OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { OperatorProperty = "In", Values = [2] },
                },
            ],
        };

        await cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace);
        var final = (await cluster.WatchJobUntilAsync("fail-index", TestCluster.Finished))[^1].Job;

        var failed = Assert.Single(final.Status.Conditions, c => c.Type == "Failed");
        Assert.Equal("FailedIndexes", failed.Reason);
        Assert.Contains(final.Status.Conditions, c => c.Type == "FailureTarget");
        Assert.Equal("1", final.Status.FailedIndexes);
        Assert.Equal("0,2", final.Status.CompletedIndexes);
        Assert.Single(cluster.Server.Pods, p => p.CompletionIndex == 1);
    }

    [Fact]
    public async Task Job_PodKilled_RetriedForThatIndexWithExitCode137()
    {
        await using var cluster = await TestCluster.StartAsync();
        var marker = Path.Combine(_folder.Path, "killed-once");
        var first = new TaskCompletionSource<FakePod>(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.Server.PodStarted += (_, pod) =>
        {
            if (pod.CompletionIndex == 0)
            {
                first.TrySetResult(pod);
            }
        };

        // Index 0 hangs on its first try until killed; it succeeds on the second.
        var script = $"if [ $JOB_COMPLETION_INDEX = 0 ] && [ ! -e {marker} ]; then touch {marker}; exec sleep 60; fi";
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(
            TestCluster.ShellJob("killed", script, completions: 2, parallelism: 2, indexed: true), TestCluster.Namespace);
        var pod = await first.Task.WaitAsync(TestCluster.Timeout);
        pod.Kill();
        var final = (await cluster.WatchJobUntilAsync("killed", TestCluster.Finished))[^1].Job;

        Assert.Equal(137, pod.ExitCode);
        Assert.Equal("Failed", pod.Phase);
        Assert.Contains(final.Status.Conditions, c => c.Type == "Complete");
        Assert.Equal(1, final.Status.Failed);
        Assert.Equal(2, cluster.Server.Pods.Count(p => p.CompletionIndex == 0));
    }

    [Fact]
    public async Task NonIndexedJob_AlwaysFailing_FailsAfterBackoffLimit()
    {
        await using var cluster = await TestCluster.StartAsync();
        var job = TestCluster.ShellJob("always-fails", "exit 3");
        job.Spec.BackoffLimit = 2;

        await cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace);
        var final = (await cluster.WatchJobUntilAsync("always-fails", TestCluster.Finished))[^1].Job;

        Assert.Equal("BackoffLimitExceeded", Assert.Single(final.Status.Conditions, c => c.Type == "Failed").Reason);
        Assert.Equal(3, final.Status.Failed);
        var pods = await cluster.Client.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace, labelSelector: "job-name=always-fails");
        Assert.All(pods.Items, p => Assert.Equal(3, p.Status.ContainerStatuses[0].State.Terminated.ExitCode));
    }

    [Fact]
    public async Task Job_MissingSecret_PodFailsWithCreateContainerConfigError()
    {
        await using var cluster = await TestCluster.StartAsync(o => o.AddSecret(TestCluster.Namespace, "present", new Dictionary<string, string> { ["key"] = "v" }));
        var job = TestCluster.ShellJob("secretive", $"echo $FROM_SECRET > {_folder.Path}/secret");
        job.Spec.BackoffLimit = 0;
        job.Spec.Template.Spec.Containers[0].Env =
        [
            new V1EnvVar { Name = "FROM_SECRET", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "absent", Key = "key" } } },
        ];

        await cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace);
        await cluster.WatchJobUntilAsync("secretive", TestCluster.Finished);

        var pod = Assert.Single((await cluster.Client.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace)).Items);
        Assert.Equal("CreateContainerConfigError", pod.Status.ContainerStatuses[0].State.Waiting.Reason);
        Assert.Contains("absent", pod.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder.Path, "secret")));
    }

    [Fact]
    public async Task Job_SecretEnvironment_ReachesThePod()
    {
        await using var cluster = await TestCluster.StartAsync(o => o.AddSecret(TestCluster.Namespace, "creds", new Dictionary<string, string> { ["token"] = "s3cr3t" }));
        var job = TestCluster.ShellJob("with-secret", $"echo $TOKEN $PLAIN > {_folder.Path}/env");
        job.Spec.Template.Spec.Containers[0].Env =
        [
            new V1EnvVar { Name = "TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "creds", Key = "token" } } },
            new V1EnvVar { Name = "PLAIN", Value = "plain" },
        ];

        await cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace);
        await cluster.WatchJobUntilAsync("with-secret", TestCluster.Finished);

        Assert.Equal("s3cr3t plain", File.ReadAllText(Path.Combine(_folder.Path, "env")).Trim());
    }

    [Fact]
    public async Task CreateJob_GenerateName_GetsFiveCharacterSuffix()
    {
        await using var cluster = await TestCluster.StartAsync();
        var job = TestCluster.ShellJob(null!, "true");
        job.Metadata.GenerateName = "dataflow-run-";

        var created = await cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace);

        Assert.Matches("^dataflow-run-[a-z0-9]{5}$", created.Metadata.Name);
        Assert.NotNull(created.Metadata.ResourceVersion);
        Assert.NotNull(created.Metadata.CreationTimestamp);
        var read = await cluster.Client.BatchV1.ReadNamespacedJobAsync(created.Metadata.Name, TestCluster.Namespace);
        Assert.Equal(created.Metadata.Uid, read.Metadata.Uid);
    }

    [Fact]
    public async Task CreateJob_NameTaken_Conflict()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("twice", "true"), TestCluster.Namespace);

        var ex = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("twice", "true"), TestCluster.Namespace));

        Assert.Equal(System.Net.HttpStatusCode.Conflict, ex.Response.StatusCode);
        Assert.Contains("\"reason\":\"AlreadyExists\"", ex.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadJob_Missing_NotFound()
    {
        await using var cluster = await TestCluster.StartAsync();

        var ex = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.BatchV1.ReadNamespacedJobAsync("absent", TestCluster.Namespace));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, ex.Response.StatusCode);
        Assert.Contains("jobs.batch \\\"absent\\\" not found", ex.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateJob_BodyOverEtcdLimit_RequestEntityTooLarge()
    {
        await using var cluster = await TestCluster.StartAsync();
        var job = TestCluster.ShellJob("huge", "true");
        job.Metadata.Annotations = new Dictionary<string, string> { ["big"] = new string('x', FakeKubernetesApiServer.MaxRequestBodyBytes) };

        var ex = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace));

        Assert.Equal(System.Net.HttpStatusCode.RequestEntityTooLarge, ex.Response.StatusCode);
    }

    [Fact]
    public async Task CreateJob_IndexedWithoutCompletions_Invalid()
    {
        await using var cluster = await TestCluster.StartAsync();

        var ex = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("no-completions", "true", indexed: true), TestCluster.Namespace));

        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, ex.Response.StatusCode);
        Assert.Contains("spec.completions: Required value", ex.Response.Content, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"Invalid\"", ex.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteJob_RoleLacksDelete_Forbidden()
    {
        await using var cluster = await TestCluster.StartAsync(o => o.Rbac = Role("get", "list", "watch", "create"));
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("kept", "true"), TestCluster.Namespace);

        var ex = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.BatchV1.DeleteNamespacedJobAsync("kept", TestCluster.Namespace, propagationPolicy: "Background"));

        Assert.Equal(System.Net.HttpStatusCode.Forbidden, ex.Response.StatusCode);
        Assert.Contains("cannot delete resource \\\"jobs\\\" in API group \\\"batch\\\"", ex.Response.Content, StringComparison.Ordinal);
        Assert.Contains(cluster.Server.Requests, r => r is { Verb: "delete", Resource: "jobs", ApiGroup: "batch", StatusCode: 403 });
        await cluster.Client.BatchV1.ReadNamespacedJobAsync("kept", TestCluster.Namespace);
    }

    [Fact]
    public async Task DeleteJob_RoleGrantsDelete_Succeeds()
    {
        await using var cluster = await TestCluster.StartAsync(o => o.Rbac = Role("get", "list", "watch", "create", "delete"));
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("gone", "true"), TestCluster.Namespace);

        await cluster.Client.BatchV1.DeleteNamespacedJobAsync("gone", TestCluster.Namespace, propagationPolicy: "Background");

        var list = await cluster.Client.BatchV1.ListNamespacedJobAsync(TestCluster.Namespace);
        Assert.Empty(list.Items);
        var forbidden = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.CoreV1.ReadNamespacedPodLogAsync("any", TestCluster.Namespace));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, forbidden.Response.StatusCode);
    }

    [Fact]
    public async Task DeleteJob_Background_KillsRunningPodPromptly()
    {
        await using var cluster = await TestCluster.StartAsync();
        var started = new TaskCompletionSource<FakePod>(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.Server.PodStarted += (_, pod) => started.TrySetResult(pod);
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("sleeper", "sleep 60"), TestCluster.Namespace);
        var pod = await started.Task.WaitAsync(TestCluster.Timeout);

        await cluster.Client.BatchV1.DeleteNamespacedJobAsync("sleeper", TestCluster.Namespace, propagationPolicy: "Background");
        await pod.Exited.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(137, pod.ExitCode);
        Assert.Empty((await cluster.Client.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace)).Items);
        Assert.Empty((await cluster.Client.BatchV1.ListNamespacedJobAsync(TestCluster.Namespace)).Items);
    }

    [Fact]
    public async Task DeleteCollection_LabelSelector_DeletesOnlyMatchingJobs()
    {
        await using var cluster = await TestCluster.StartAsync();
        var other = TestCluster.ShellJob("other", "true");
        other.Metadata.Labels = new Dictionary<string, string> { ["app"] = "other" };
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("mine", "true"), TestCluster.Namespace);
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(other, TestCluster.Namespace);

        await cluster.Client.BatchV1.DeleteCollectionNamespacedJobAsync(TestCluster.Namespace, labelSelector: "app=dataflow-test", propagationPolicy: "Background");

        var left = await cluster.Client.BatchV1.ListNamespacedJobAsync(TestCluster.Namespace);
        Assert.Equal("other", Assert.Single(left.Items).Metadata.Name);
    }

    [Fact]
    public async Task Watch_FromResourceVersion_SendsOnlyLaterEvents()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("first", "true"), TestCluster.Namespace);
        await cluster.WatchJobUntilAsync("first", TestCluster.Finished);
        var list = await cluster.Client.BatchV1.ListNamespacedJobAsync(TestCluster.Namespace);

        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("second", "true"), TestCluster.Namespace);

        // The callback form of a watch.
        var first = new TaskCompletionSource<(WatchEventType, V1Job)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watcher = cluster.Client.BatchV1.WatchListNamespacedJob(
            TestCluster.Namespace, resourceVersion: list.Metadata.ResourceVersion,
            onEvent: (type, job) => first.TrySetResult((type, job)), onError: ex => first.TrySetException(ex));
        var (type, job) = await first.Task.WaitAsync(timeout.Token);

        Assert.Equal("second", job.Metadata.Name);
        Assert.Equal(WatchEventType.Added, type);
    }

    [Fact]
    public async Task Watch_TimeoutSeconds_EndsTheStreamAfterTheExistingObjects()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("done", "true"), TestCluster.Namespace);
        await cluster.WatchJobUntilAsync("done", TestCluster.Finished);

        var events = new List<WatchEventType>();
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        await foreach (var (type, _) in cluster.Client.BatchV1.WatchListNamespacedJobAsync(TestCluster.Namespace, timeoutSeconds: 1, cancellationToken: timeout.Token))
        {
            events.Add(type);
        }

        Assert.Equal([WatchEventType.Added], events);
        Assert.False(timeout.IsCancellationRequested);
    }

    [Fact]
    public async Task PodLog_StdoutAndStderr_ReturnedWithTailLines()
    {
        await using var cluster = await TestCluster.StartAsync();

        // stdout and stderr are separate pipes, so only the order within stdout is known; the tail is read from a
        // stdout-only pod.
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("talker", "echo one; echo two >&2; echo three"), TestCluster.Namespace);
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("counter", "echo one; echo two; echo three"), TestCluster.Namespace);
        await cluster.WatchJobUntilAsync("talker", TestCluster.Finished);
        await cluster.WatchJobUntilAsync("counter", TestCluster.Finished);
        var talker = Assert.Single((await cluster.Client.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace, labelSelector: "batch.kubernetes.io/job-name=talker")).Items);
        var counter = Assert.Single((await cluster.Client.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace, labelSelector: "job-name=counter")).Items);

        using var all = new StreamReader(await cluster.Client.CoreV1.ReadNamespacedPodLogAsync(talker.Metadata.Name, TestCluster.Namespace));
        using var tail = new StreamReader(await cluster.Client.CoreV1.ReadNamespacedPodLogAsync(counter.Metadata.Name, TestCluster.Namespace, tailLines: 2));

        var lines = (await all.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["one", "three", "two"], lines.Order());
        Assert.Equal(["one", "three"], lines.Where(l => l != "two"));
        Assert.Equal("two\nthree\n", await tail.ReadToEndAsync());
    }

    [Fact]
    public async Task Job_ActiveDeadlineExceeded_FailsAndKillsItsPod()
    {
        await using var cluster = await TestCluster.StartAsync();
        var job = TestCluster.ShellJob("late", "sleep 60");
        job.Spec.ActiveDeadlineSeconds = 1;

        await cluster.Client.BatchV1.CreateNamespacedJobAsync(job, TestCluster.Namespace);
        var final = (await cluster.WatchJobUntilAsync("late", TestCluster.Finished))[^1].Job;

        Assert.Equal("DeadlineExceeded", Assert.Single(final.Status.Conditions, c => c.Type == "Failed").Reason);
        Assert.Equal(0, final.Status.Active);
        Assert.Equal(137, Assert.Single(cluster.Server.Pods).ExitCode);
    }

    [Fact]
    public async Task WriteKubeconfig_ClientFromFile_ReachesTheServer()
    {
        await using var cluster = await TestCluster.StartAsync();
        var path = Path.Combine(_folder.Path, "kubeconfig");
        cluster.Server.WriteKubeconfig(path, "elsewhere");
        await cluster.Client.BatchV1.CreateNamespacedJobAsync(TestCluster.ShellJob("visible", "true"), "elsewhere");

        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        using var client = new k8s.Kubernetes(config);
        var jobs = await client.BatchV1.ListNamespacedJobAsync(config.Namespace);

        Assert.Equal("elsewhere", config.Namespace);
        Assert.Equal("visible", Assert.Single(jobs.Items).Metadata.Name);
        Assert.Contains(cluster.Server.Requests, r => r is { Verb: "list", Resource: "jobs", Namespace: "elsewhere", StatusCode: 200 });
    }

    private static string Role(params string[] jobVerbs) => $"""
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: dataflow
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: dataflow
        rules:
          - apiGroups: ["batch"]
            resources: ["jobs"]
            verbs: [{string.Join(", ", jobVerbs.Select(v => $"\"{v}\""))}]
          - apiGroups: [""]
            resources: ["pods"]
            verbs: ["get", "list"]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: dataflow
        roleRef:
          kind: Role
          name: dataflow
        """;
}
