using System.Text.Json;
using k8s;
using k8s.Models;

namespace Dataflow.Kubernetes.Tests.Executors;

/// <summary>A fake API server whose "/app/test" pods run <c>/bin/sh</c>, and a KubernetesClient pointed at it.</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public const string Namespace = "dataflow";
    public const string Shell = "/app/test";

    private TestCluster(FakeKubernetesApiServer server)
    {
        Server = server;
        Client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() });
    }

    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(30);

    public FakeKubernetesApiServer Server { get; }

    public k8s.Kubernetes Client { get; }

    public static async Task<TestCluster> StartAsync(Action<FakeClusterOptions>? configure = null)
    {
        var options = new FakeClusterOptions();
        options.Commands[Shell] = ["/bin/sh"];
        configure?.Invoke(options);
        return new TestCluster(await FakeKubernetesApiServer.StartAsync(options));
    }

    /// <summary>A cluster whose "/app/test-worker" pods run tests/Dataflow.TestWorker (see <see cref="TestWorkerPods"/>).</summary>
    public static Task<TestCluster> StartWithTestWorkerAsync() =>
        StartAsync(o => o.Commands["/app/test-worker"] = ["dotnet", TestWorkerProgram.Path()]);

    /// <summary>Pods that run tests/Dataflow.TestWorker, tracing into <paramref name="traces"/>, <paramref name="tasksPerPod"/> tasks each.</summary>
    public static PodOptions TestWorkerPods(string traces, int? tasksPerPod = null) => new()
    {
        Image = "dataflow-test-worker:test",
        Command = ["/app/test-worker"],
        TasksPerPod = tasksPerPod,
        Environment = new Dictionary<string, string> { [Dataflow.TestWorker.PoolTestJob.FolderVariable] = traces },
    };

    /// <summary>A Job whose one container runs <paramref name="script"/> with <c>sh -c</c>.</summary>
    public static V1Job ShellJob(string name, string script, int? completions = null, int? parallelism = null, bool indexed = false) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["app"] = "dataflow-test" } },
        Spec = new V1JobSpec
        {
            Completions = completions,
            Parallelism = parallelism,
            CompletionMode = indexed ? "Indexed" : null,
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["role"] = "task" } },
                Spec = new V1PodSpec
                {
                    RestartPolicy = "Never",
                    Containers = [new V1Container { Name = "main", Image = "dataflow:test", Command = [Shell, "-c", script] }],
                },
            },
        },
    };

    /// <summary>Watches one Job until <paramref name="done"/> holds, returning every event seen.</summary>
    public async Task<List<(WatchEventType Type, V1Job Job)>> WatchJobUntilAsync(string name, Func<V1Job, bool> done)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var events = new List<(WatchEventType, V1Job)>();
        await foreach (var (type, job) in Client.BatchV1.WatchListNamespacedJobAsync(
            Namespace, fieldSelector: $"metadata.name={name}", cancellationToken: timeout.Token))
        {
            events.Add((type, job));
            if (done(job))
            {
                return events;
            }
        }

        throw new TimeoutException($"job {name} never reached the expected state; last: {JsonSerializer.Serialize(events.LastOrDefault().Item2?.Status)}");
    }

    public static bool Finished(V1Job job) =>
        job.Status?.Conditions?.Any(c => c.Type is "Complete" or "Failed" && c.Status == "True") == true;

    /// <summary>Watches one Workflow until it has finished, returning it.</summary>
    public async Task<JsonElement> WatchWorkflowUntilFinishedAsync(string name)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await foreach (var (_, item) in Client.CustomObjects.WatchListNamespacedCustomObjectAsync(
            "argoproj.io", "v1alpha1", Namespace, "workflows", fieldSelector: $"metadata.name={name}",
            cancellationToken: timeout.Token))
        {
            var workflow = (JsonElement)item;
            if (workflow.TryGetProperty("status", out var status) && status.TryGetProperty("finishedAt", out _))
            {
                return workflow;
            }
        }

        throw new TimeoutException($"workflow {name} never finished");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
