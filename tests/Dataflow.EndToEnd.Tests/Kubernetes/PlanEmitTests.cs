using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Dataflow.EndToEnd.Tests.Kubernetes;

/// <summary>
/// <c>plan --emit argo|k8s|json</c>: the plan is stored where pods read it, and the manifests written are submitted
/// as they are — as <c>argo submit</c> and <c>kubectl create</c> would — to the loopback API server, whose pods run the
/// program; the output is then checked against the inputs.
/// </summary>
public sealed class PlanEmitTests : IAsyncLifetime, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));
    private ClusterFixture _cluster = null!;
    private k8s.Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _cluster = await ClusterFixture.StartAsync(_root, rbac: AllowEverything);
        _client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(_cluster.Kubeconfig));
    }

    public void Dispose() => _client?.Dispose();

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    // What a user submitting manifests by hand may do; the drivers' Role is checked by ClusterRunTests.
    private const string AllowEverything = """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: admin
        rules:
          - apiGroups: ["*"]
            resources: ["*"]
            verbs: ["*"]
        """;

    private string Store => Path.Combine(_root, "store");

    private Task<ProgramResult> PlanAsync(params string[] args) =>
        ProgramRunner.RunAsync("merge-files", ["plan", "--store", Store, "--image", "registry.example/dataflow/merge-files:test", "--volume-claim", "dataflow-data", .. args]);

    [Fact]
    public async Task EmitArgo_SeedJob_IsSchemaValidFansOutByHalvesAndRunsAsSubmitted()
    {
        var seed = await PlanAsync("--emit", "argo", "--run-id", "seed-default", "--out", Path.Combine(_root, "seed.yaml"));
        var small = await PlanAsync("--emit", "argo", "--run-id", "seed-64", "--tasks-per-pod", "64");

        Assert.True(seed.ExitCode == 0, seed.ToString());
        Assert.True(small.ExitCode == 0, small.ToString());
        var workflow = YamlToJson.Parse(await File.ReadAllTextAsync(Path.Combine(_root, "seed.yaml")))!.AsObject();
        Assert.Empty(ArgoSchema.ValidateWorkflow(workflow));
        Assert.Equal([256, 128, 64, 32, 16, 8, 4, 2, 1], PodsPerStage(workflow));
        Assert.True(File.Exists(Path.Combine(Store, "_dataflow", "runs", "seed-default", "plan.json")));

        // Submitted as written (the second plan: 64 tasks per pod, 4 + 2 + 7 × 1 pods).
        var submitted = YamlToJson.Parse(small.Stdout)!.AsObject();
        Assert.Equal([4, 2, 1, 1, 1, 1, 1, 1, 1], PodsPerStage(submitted));
        var created = await _client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonObject>(submitted, "argoproj.io", "v1alpha1", ClusterFixture.Namespace, "workflows");
        var name = created["metadata"]!["name"]!.GetValue<string>();
        var phase = await WaitAsync(async () =>
        {
            var current = await _client.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>("argoproj.io", "v1alpha1", ClusterFixture.Namespace, "workflows", name);
            return current["status"]?["finishedAt"] is null ? null : current["status"]!["phase"]!.GetValue<string>();
        });

        Assert.Equal("Succeeded", phase);
        await AssertMergedAsync("seed-64");
    }

    [Fact]
    public async Task EmitK8s_SeedJob_JobsCreatedInOrderRunTheJob()
    {
        var result = await PlanAsync("--emit", "k8s", "--run-id", "seed-jobs", "--tasks-per-pod", "64");

        Assert.True(result.ExitCode == 0, result.ToString());
        var list = YamlToJson.Parse(result.Stdout)!.AsObject();
        Assert.Equal("List", list["kind"]!.GetValue<string>());
        var jobs = list["items"]!.AsArray().Select(j => KubernetesJson.Deserialize<V1Job>(j!.ToJsonString())).ToList();
        Assert.Equal(10, jobs.Count);
        Assert.All(jobs.Take(9), j => Assert.Equal("Indexed", j.Spec.CompletionMode));

        // As the README's loop does: create each Job, wait for it to complete, then the next; the last one publishes.
        foreach (var job in jobs)
        {
            await _client.BatchV1.CreateNamespacedJobAsync(job, ClusterFixture.Namespace);
            var condition = await WaitAsync(async () =>
            {
                var current = await _client.BatchV1.ReadNamespacedJobAsync(job.Metadata.Name, ClusterFixture.Namespace);
                return current.Status?.Conditions?.FirstOrDefault(c => c.Type is "Complete" or "Failed" && c.Status == "True")?.Type;
            });
            Assert.True(condition == "Complete", $"Job {job.Metadata.Name}: {condition}");
        }

        await AssertMergedAsync("seed-jobs");
    }

    [Fact]
    public async Task EmitJson_SeedJob_PrintsThePlanItStored()
    {
        var result = await PlanAsync("--emit", "json", "--run-id", "seed-json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var printed = PlanSerializer.Deserialize(result.Stdout);
        await using var store = Dataflow.Storage.ObjectStore.OpenFolder(Store);
        var stored = await PlanStore.LoadAsync(store, "seed-json");
        Assert.Equal(511, printed.TaskCount);
        Assert.Equal(PlanSerializer.Serialize(printed), PlanSerializer.Serialize(stored!));
        Assert.Contains("run seed-json: 511 tasks in 9 stages", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Emit_Unknown_ExitsTwo()
    {
        var result = await PlanAsync("--emit", "helm");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("must be argo, k8s or json", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>The published output is the concatenation of the inputs, in key order; the run's data is gone.</summary>
    private async Task AssertMergedAsync(string runId)
    {
        var inputs = Directory.GetFiles(Path.Combine(Store, "input")).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).SelectMany(b => b).ToArray();
        var merged = await File.ReadAllBytesAsync(Path.Combine(Store, "output", "merged.txt"));
        Assert.Equal(Encoding.ASCII.GetString(inputs), Encoding.ASCII.GetString(merged));
        File.Delete(Path.Combine(Store, "output", "merged.txt"));
        var data = Path.Combine(Store, "_dataflow", "runs", runId, "data");
        Assert.True(!Directory.Exists(data) || Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length == 0, "intermediate data is left");
    }

    /// <summary>Polls <paramref name="probe"/> until it answers, for at most 2 minutes.</summary>
    private static async Task<string> WaitAsync(Func<Task<string?>> probe)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            if (await probe() is { } answer)
            {
                return answer;
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    private static int[] PodsPerStage(JsonObject workflow)
    {
        var templates = workflow["spec"]!["templates"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!.AsObject());
        var main = templates[workflow["spec"]!["entrypoint"]!.GetValue<string>()];
        return main["steps"]!.AsArray()
            .Select(group => group![0]!["template"]!.GetValue<string>())
            .Where(name => name != "publish")
            .Select(name => int.Parse(templates[name]["steps"]![0]![0]!["withSequence"]!["count"]!.GetValue<string>(), CultureInfo.InvariantCulture))
            .ToArray();
    }
}
