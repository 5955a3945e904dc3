using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;

namespace Dataflow.Kubernetes.Tests.Executors;

public sealed class FakeApiServerWorkflowTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Workflow_StepsWithSequenceRetryAndExitHandler_Succeeds()
    {
        await using var cluster = await TestCluster.StartAsync();
        var marker = Path.Combine(_folder.Path, "failed-once");

        // Shard 1 fails once (exit 1: retried by the expression); every shard records its parameter.
        var shard = $"if [ {{{{inputs.parameters.shard}}}} = 1 ] && [ ! -e {marker} ]; then touch {marker}; exit 1; fi; echo {{{{inputs.parameters.shard}}}} > {_folder.Path}/shard-{{{{inputs.parameters.shard}}}}; touch {_folder.Path}/retries-{{{{inputs.parameters.shard}}}}-{{{{retries}}}}";
        var workflow = Workflow("steps", shard, $"echo {{{{workflow.status}}}} > {_folder.Path}/exit-status");

        await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(workflow, "argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows");
        var final = await cluster.WatchWorkflowUntilFinishedAsync("steps");

        var status = final.GetProperty("status");
        Assert.Equal("Succeeded", status.GetProperty("phase").GetString());
        Assert.Equal("Succeeded", File.ReadAllText(Path.Combine(_folder.Path, "exit-status")).Trim());
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i.ToString(), File.ReadAllText(Path.Combine(_folder.Path, $"shard-{i}")).Trim());
        }

        Assert.True(File.Exists(Path.Combine(_folder.Path, "retries-1-1")));
        Assert.True(File.Exists(Path.Combine(_folder.Path, "retries-0-0")));
        var nodes = status.GetProperty("nodes").EnumerateObject().Select(p => p.Value).ToList();

        // Root Steps, one StepGroup, three Retry nodes with four Pod attempts, and the exit handler's Pod.
        Assert.Equal(10, nodes.Count);
        Assert.Single(nodes, n => Type(n) == "Steps");
        Assert.Single(nodes, n => Type(n) == "StepGroup");
        Assert.Equal(3, nodes.Count(n => Type(n) == "Retry"));
        Assert.Equal(5, nodes.Count(n => Type(n) == "Pod"));
        Assert.All(nodes.Where(n => Type(n) == "Retry"), n => Assert.Equal("Succeeded", n.GetProperty("phase").GetString()));
        var retried = Assert.Single(nodes, n => n.GetProperty("name").GetString() == "steps[0].shard(1:1)(0)");
        Assert.Equal("Failed", retried.GetProperty("phase").GetString());
        Assert.Equal("1", retried.GetProperty("outputs").GetProperty("exitCode").GetString());
        Assert.Single(nodes, n => n.GetProperty("name").GetString() == "steps.onExit");
        Assert.Equal("4/5", status.GetProperty("progress").GetString());
        Assert.Equal(5, cluster.Server.Pods.Count);
        Assert.All(cluster.Server.Pods, p => Assert.Equal("steps", p.WorkflowName));

        var pods = await cluster.Client.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace, labelSelector: "workflows.argoproj.io/workflow=steps");
        Assert.Equal(5, pods.Items.Count);
    }

    [Fact]
    public async Task Workflow_StepExitCodeStopsRetry_FailsAndExitHandlerSeesFailed()
    {
        await using var cluster = await TestCluster.StartAsync();

        // Exit code 3 is the one the expression does not retry.
        var workflow = Workflow("failing", "[ {{inputs.parameters.shard}} = 2 ] && exit 3; true", $"echo {{{{workflow.status}}}} > {_folder.Path}/exit-status");

        await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(workflow, "argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows");
        var final = await cluster.WatchWorkflowUntilFinishedAsync("failing");

        Assert.Equal("Failed", final.GetProperty("status").GetProperty("phase").GetString());
        Assert.Equal("Failed", File.ReadAllText(Path.Combine(_folder.Path, "exit-status")).Trim());
        var nodes = final.GetProperty("status").GetProperty("nodes").EnumerateObject().Select(p => p.Value).ToList();
        var retry = Assert.Single(nodes, n => n.GetProperty("name").GetString() == "failing[0].shard(2:2)");
        Assert.Equal("Failed", retry.GetProperty("phase").GetString());
        Assert.Single(retry.GetProperty("children").EnumerateArray());
    }

    [Fact]
    public async Task Workflow_ActiveDeadlineExceeded_FailsKillsPodsAndRunsExitHandler()
    {
        await using var cluster = await TestCluster.StartAsync();
        var workflow = Workflow("slow", "sleep 60", $"echo {{{{workflow.status}}}} > {_folder.Path}/exit-status");
        workflow["spec"]!["activeDeadlineSeconds"] = 1;

        await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(workflow, "argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows");
        var final = await cluster.WatchWorkflowUntilFinishedAsync("slow");

        Assert.Equal("Failed", final.GetProperty("status").GetProperty("phase").GetString());
        Assert.Equal("Failed", File.ReadAllText(Path.Combine(_folder.Path, "exit-status")).Trim());
        Assert.All(cluster.Server.Pods.Where(p => p.Name.Contains("-shard-", StringComparison.Ordinal)), p => Assert.Equal(137, p.ExitCode));
    }

    [Fact]
    public async Task CreateWorkflow_ValidatorRefuses_Invalid()
    {
        await using var cluster = await TestCluster.StartAsync(o => o.ValidateWorkflow = _ => ["spec.templates[0].container: missing image"]);

        var ex = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(Workflow("refused", "true", "true"), "argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows"));

        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, ex.Response.StatusCode);
        Assert.Contains("missing image", ex.Response.Content, StringComparison.Ordinal);
        Assert.Empty(cluster.Server.Pods);
    }

    [Fact]
    public async Task CreateWorkflow_UnsupportedRetryExpression_Invalid()
    {
        await using var cluster = await TestCluster.StartAsync();
        var workflow = Workflow("odd-expression", "true", "true");
        workflow["spec"]!["templates"]![1]!["retryStrategy"]!["expression"] = "lastRetry.status == \"Error\"";

        var ex = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(workflow, "argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows"));

        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, ex.Response.StatusCode);
        Assert.Contains("expression not supported by the fake server", ex.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteWorkflow_Running_KillsItsPods()
    {
        await using var cluster = await TestCluster.StartAsync();
        var started = new TaskCompletionSource<Dataflow.Testing.FakePod>(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.Server.PodStarted += (_, pod) => started.TrySetResult(pod);
        await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(Workflow("sleepy", "sleep 60", "true"), "argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows");
        var pod = await started.Task.WaitAsync(TestCluster.Timeout);

        var got = (JsonElement)await cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync("argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows", "sleepy");
        Assert.Equal("sleepy", got.GetProperty("metadata").GetProperty("name").GetString());
        await cluster.Client.CustomObjects.DeleteNamespacedCustomObjectAsync("argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows", "sleepy");
        await pod.Exited.WaitAsync(TimeSpan.FromSeconds(10));

        var ex = await Assert.ThrowsAsync<HttpOperationException>(() =>
            cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync("argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows", "sleepy"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, ex.Response.StatusCode);
    }

    [Fact]
    public async Task Workflow_WithItemsUnderWorkflowParallelismOne_RunsItemsOneAtATime()
    {
        await using var cluster = await TestCluster.StartAsync();
        var maxRunning = 0;
        cluster.Server.PodStarted += (_, _) =>
        {
            lock (_folder)
            {
                maxRunning = Math.Max(maxRunning, cluster.Server.Pods.Count(p => p.Phase == "Running"));
            }
        };
        var workflow = new JsonObject
        {
            ["apiVersion"] = "argoproj.io/v1alpha1",
            ["kind"] = "Workflow",
            ["metadata"] = new JsonObject { ["generateName"] = "items-" },
            ["spec"] = new JsonObject
            {
                ["entrypoint"] = "main",
                ["parallelism"] = 1,
                ["templates"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["name"] = "main",
                        ["steps"] = new JsonArray
                        {
                            new JsonArray
                            {
                                new JsonObject
                                {
                                    ["name"] = "say",
                                    ["template"] = "say",
                                    ["withItems"] = new JsonArray { "a", "b", "c" },
                                    ["arguments"] = new JsonObject
                                    {
                                        ["parameters"] = new JsonArray { new JsonObject { ["name"] = "word", ["value"] = "{{item}}" } },
                                    },
                                },
                            },
                        },
                    },
                    new JsonObject
                    {
                        ["name"] = "say",
                        ["inputs"] = new JsonObject { ["parameters"] = new JsonArray { new JsonObject { ["name"] = "word" }, new JsonObject { ["name"] = "suffix", ["default"] = "!" } } },
                        ["container"] = new JsonObject
                        {
                            ["image"] = "dataflow:test",
                            ["command"] = new JsonArray { TestCluster.Shell, "-c", $"echo {{{{inputs.parameters.word}}}}{{{{inputs.parameters.suffix}}}} > {_folder.Path}/{{{{inputs.parameters.word}}}}-{{{{workflow.name}}}}" },
                        },
                    },
                },
            },
        };

        var created = (JsonElement)await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(workflow, "argoproj.io", "v1alpha1", TestCluster.Namespace, "workflows");
        var name = created.GetProperty("metadata").GetProperty("name").GetString()!;
        var final = await cluster.WatchWorkflowUntilFinishedAsync(name);

        Assert.Matches("^items-[a-z0-9]{5}$", name);
        Assert.Equal("Succeeded", final.GetProperty("status").GetProperty("phase").GetString());
        Assert.Equal(5, final.GetProperty("status").GetProperty("nodes").EnumerateObject().Count());
        Assert.Equal(1, maxRunning);
        foreach (var word in new[] { "a", "b", "c" })
        {
            Assert.Equal($"{word}!", File.ReadAllText(Path.Combine(_folder.Path, $"{word}-{name}")).Trim());
        }

        Assert.All(cluster.Server.Pods, p => Assert.StartsWith($"{name}-say-", p.Name, StringComparison.Ordinal));
    }

    private static string Type(JsonElement node) => node.GetProperty("type").GetString()!;

    /// <summary>
    /// A Workflow whose entrypoint runs the "shard" template three times (withSequence, two at once), retried once
    /// unless the exit code is 3, and whose exit handler runs <paramref name="exitScript"/>.
    /// </summary>
    private static JsonObject Workflow(string name, string shardScript, string exitScript) => new()
    {
        ["apiVersion"] = "argoproj.io/v1alpha1",
        ["kind"] = "Workflow",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["entrypoint"] = "main",
            ["onExit"] = "exit-handler",
            ["serviceAccountName"] = "dataflow",
            ["templates"] = new JsonArray
            {
                new JsonObject
                {
                    ["name"] = "main",
                    ["parallelism"] = 2,
                    ["steps"] = new JsonArray
                    {
                        new JsonArray
                        {
                            new JsonObject
                            {
                                ["name"] = "shard",
                                ["template"] = "shard",
                                ["withSequence"] = new JsonObject { ["count"] = "3" },
                                ["arguments"] = new JsonObject
                                {
                                    ["parameters"] = new JsonArray { new JsonObject { ["name"] = "shard", ["value"] = "{{item}}" } },
                                },
                            },
                        },
                    },
                },
                new JsonObject
                {
                    ["name"] = "shard",
                    ["inputs"] = new JsonObject { ["parameters"] = new JsonArray { new JsonObject { ["name"] = "shard" } } },
                    ["retryStrategy"] = new JsonObject
                    {
                        ["limit"] = "1",
                        ["retryPolicy"] = "Always",
                        ["expression"] = "asInt(lastRetry.exitCode) != 3",
                        ["backoff"] = new JsonObject { ["duration"] = "1s" },
                    },
                    ["container"] = new JsonObject
                    {
                        ["image"] = "dataflow:test",
                        ["command"] = new JsonArray { TestCluster.Shell, "-c" },
                        ["args"] = new JsonArray { shardScript },
                    },
                },
                new JsonObject
                {
                    ["name"] = "exit-handler",
                    ["container"] = new JsonObject
                    {
                        ["image"] = "dataflow:test",
                        ["command"] = new JsonArray { TestCluster.Shell, "-c", exitScript },
                    },
                },
            },
        },
    };
}
