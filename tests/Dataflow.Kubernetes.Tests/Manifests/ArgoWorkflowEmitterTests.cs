using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Dataflow.Kubernetes.Tests.Manifests;

public sealed class ArgoWorkflowEmitterTests(ITestOutputHelper output)
{
    private const int ManifestLimit = 64 * 1024;

    [Fact]
    public void Emit_SeedJob_IsValidInStrictMode()
    {
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, ManifestPlans.S3Options());

        var errors = ArgoSchema.ValidateWorkflow(workflow);

        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Fact]
    public void Emit_SeedJob_StagesFanOutByHalves()
    {
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, ManifestPlans.S3Options());

        Assert.Equal([256, 128, 64, 32, 16, 8, 4, 2, 1], PodsPerStage(workflow));
        Assert.Equal("1,1,1,1,1,1,1,1,1", workflow["metadata"]!["annotations"]![PodTemplates.TasksPerPodAnnotation]!.GetValue<string>());
    }

    [Fact]
    public void Emit_SeedJob_MainRunsStagesInOrderThenPublishAndExitsThroughFinish()
    {
        var plan = ManifestPlans.ReduceTree(512);
        var workflow = ArgoWorkflowEmitter.Emit(plan, ManifestPlans.PlanUri, ManifestPlans.S3Options());
        var spec = workflow["spec"]!;
        var main = Template(workflow, spec["entrypoint"]!.GetValue<string>());

        var steps = main["steps"]!.AsArray().Select(group => Assert.Single(group!.AsArray())!["template"]!.GetValue<string>()).ToArray();

        Assert.Equal("main", spec["entrypoint"]!.GetValue<string>());
        Assert.Equal(plan.Stages.Count + 1, steps.Length);
        Assert.Equal("stage-0-level-1", steps[0]);
        Assert.Equal("publish", steps[^1]);
        Assert.Equal("finish", spec["onExit"]!.GetValue<string>());
        Assert.Equal(
            ["publish", "--plan", ManifestPlans.PlanUri, "--workflow", "{{workflow.name}}"],
            Strings(Template(workflow, "publish")["container"]!["args"]!));
        Assert.Equal(
            ["finish", "--plan", ManifestPlans.PlanUri, "--status", "{{workflow.status}}", "--workflow", "{{workflow.name}}"],
            Strings(Template(workflow, "finish")["container"]!["args"]!));
    }

    [Fact]
    public void Emit_CommandWithArgumentsAndExtras_WorkerArgumentsFollowThePodContract()
    {
        var options = ManifestPlans.S3Options();
        options.Command = ["/app/merge-files", "--verbose"];
        options.ExtraArguments = ["--files", "512"];
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, options);

        var stage = Template(workflow, "stage-2-level-3");
        var step = Assert.Single(Assert.Single(stage["steps"]!.AsArray())!.AsArray())!;
        var pod = Template(workflow, step["template"]!.GetValue<string>());
        var container = pod["container"]!;

        Assert.Equal(["/app/merge-files"], Strings(container["command"]!));
        Assert.Equal(
            ["--verbose", "worker", "--plan", ManifestPlans.PlanUri, "--stage", "2", "--shard-size", "1", "--shard", "{{inputs.parameters.shard}}", "--files", "512"],
            Strings(container["args"]!));
        Assert.Equal("{{item}}", step["arguments"]!["parameters"]![0]!["value"]!.GetValue<string>());
        Assert.Equal("shard", pod["inputs"]!["parameters"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(["--verbose", "publish", "--plan", ManifestPlans.PlanUri, "--workflow", "{{workflow.name}}", "--files", "512"], Strings(Template(workflow, "publish")["container"]!["args"]!));
    }

    [Fact]
    public void Emit_Defaults_RetryStrategySkipsUsageErrors()
    {
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, ManifestPlans.S3Options());

        var retry = Template(workflow, "stage-0-level-1-pod")["retryStrategy"]!;

        Assert.Equal(3, retry["limit"]!.GetValue<int>());
        Assert.Equal("Always", retry["retryPolicy"]!.GetValue<string>());
        Assert.Equal("asInt(lastRetry.exitCode) != 2", retry["expression"]!.GetValue<string>());
        Assert.Equal("5s", retry["backoff"]!["duration"]!.GetValue<string>());
        Assert.Equal(2, retry["backoff"]!["factor"]!.GetValue<int>());
        Assert.Equal("5m", retry["backoff"]!["maxDuration"]!.GetValue<string>());
        Assert.Equal("OnPodSuccess", workflow["spec"]!["podGC"]!["strategy"]!.GetValue<string>());
        Assert.Null(workflow["spec"]!["ttlStrategy"]);
    }

    [Fact]
    public void Emit_ParallelismAndStageOverrides_AppliedPerStage()
    {
        var options = ManifestPlans.S3Options();
        options.Parallelism = 50;
        options.RetryLimit = 5;
        options.StageOverrides = new Dictionary<int, StageOverride>
        {
            [1] = new(Parallelism: 10, Resources: new PodResources(CpuRequest: "2"), RetryLimit: 1),
        };
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, options);

        Assert.Equal(50, Template(workflow, "stage-0-level-1")["parallelism"]!.GetValue<int>());
        Assert.Equal(10, Template(workflow, "stage-1-level-2")["parallelism"]!.GetValue<int>());
        Assert.Equal(32, Template(workflow, "stage-3-level-4")["parallelism"]!.GetValue<int>());
        Assert.Equal(1, Template(workflow, "stage-8-level-9")["parallelism"]!.GetValue<int>());
        Assert.Equal(5, Template(workflow, "stage-0-level-1-pod")["retryStrategy"]!["limit"]!.GetValue<int>());
        Assert.Equal(1, Template(workflow, "stage-1-level-2-pod")["retryStrategy"]!["limit"]!.GetValue<int>());
        Assert.Equal("2", Template(workflow, "stage-1-level-2-pod")["container"]!["resources"]!["requests"]!["cpu"]!.GetValue<string>());
        Assert.Empty(ArgoSchema.ValidateWorkflow(workflow));
    }

    [Fact]
    public void Emit_LongJobName_NamesAreDnsLabelsOfAtMost63()
    {
        var jobName = "Merge_Files.For." + new string('x', 30) + ".Quarterly";
        var plan = ManifestPlans.ReduceTree(8, jobName) with { RunId = "20261129-024455-3FA2C1" };
        var other = ManifestPlans.ReduceTree(8, jobName + "2");

        var workflow = ArgoWorkflowEmitter.Emit(plan, ManifestPlans.PlanUri, ManifestPlans.S3Options());
        var otherName = ArgoWorkflowEmitter.Emit(other, ManifestPlans.PlanUri, ManifestPlans.S3Options())["metadata"]!["name"]!.GetValue<string>();

        var name = workflow["metadata"]!["name"]!.GetValue<string>();
        output.WriteLine(name);
        Assert.True(KubernetesNames.IsDnsLabel(name), name);
        Assert.StartsWith("dataflow-merge-files-for-xxx", name, StringComparison.Ordinal);
        Assert.NotEqual(name, otherName);
        Assert.Equal(name, ArgoWorkflowEmitter.Emit(plan, ManifestPlans.PlanUri, ManifestPlans.S3Options())["metadata"]!["name"]!.GetValue<string>());
        foreach (var template in workflow["spec"]!["templates"]!.AsArray())
        {
            var templateName = template!["name"]!.GetValue<string>();
            Assert.True(KubernetesNames.IsDnsLabel(templateName), templateName);
        }

        foreach (var (_, value) in workflow["metadata"]!["labels"]!.AsObject())
        {
            Assert.True(KubernetesNames.IsLabelValue(value!.GetValue<string>()), value.GetValue<string>());
        }

        Assert.Empty(ArgoSchema.ValidateWorkflow(workflow));
    }

    [Fact]
    public void Emit_StoreSecret_AppearsOnlyAsReferences()
    {
        var options = ManifestPlans.S3Options();
        options.SecretEnvironment = new Dictionary<string, SecretKeyReference>
        {
            ["AWS_SESSION_TOKEN"] = new("dataflow-session", "token"),
        };
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, options);
        var container = Template(workflow, "stage-0-level-1-pod")["container"]!;

        Assert.Equal("dataflow-store", container["envFrom"]![0]!["secretRef"]!["name"]!.GetValue<string>());
        var session = container["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "AWS_SESSION_TOKEN")!;
        Assert.Null(session["value"]);
        Assert.Equal("dataflow-session", session["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>());
        Assert.Equal("token", session["valueFrom"]!["secretKeyRef"]!["key"]!.GetValue<string>());
        Assert.Equal("eu-central-1", container["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "AWS_REGION")!["value"]!.GetValue<string>());
        Assert.DoesNotContain("AWS_SECRET_ACCESS_KEY", workflow.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty(ArgoSchema.ValidateWorkflow(workflow));
    }

    [Fact]
    public void Emit_VolumeClaim_MountsItInEveryPod()
    {
        var options = ManifestPlans.S3Options();
        options.StoreSecretName = null;
        options.VolumeClaimName = "dataflow-data";
        options.MountPath = "/data";
        options.Namespace = "batch";
        options.TtlSecondsAfterFinished = 3600;
        options.ActiveDeadlineSeconds = 7200;
        options.NodeSelector = new Dictionary<string, string> { ["pool"] = "batch" };
        options.Tolerations = [new PodToleration("dedicated", "Equal", "batch", "NoSchedule"), new PodToleration(Operator: "Exists", Effect: "NoExecute", TolerationSeconds: 60)];
        options.Labels = new Dictionary<string, string> { ["team"] = "data" };
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, options);
        var spec = workflow["spec"]!;

        var volume = Assert.Single(spec["volumes"]!.AsArray())!;
        Assert.Equal("dataflow-data", volume["persistentVolumeClaim"]!["claimName"]!.GetValue<string>());
        foreach (var template in spec["templates"]!.AsArray().Where(t => t!["container"] is not null))
        {
            var mount = Assert.Single(template!["container"]!["volumeMounts"]!.AsArray())!;
            Assert.Equal(volume["name"]!.GetValue<string>(), mount["name"]!.GetValue<string>());
            Assert.Equal("/data", mount["mountPath"]!.GetValue<string>());
            Assert.Null(template["container"]!["envFrom"]);
            Assert.Equal("batch", template["nodeSelector"]!["pool"]!.GetValue<string>());
            Assert.Equal(2, template["tolerations"]!.AsArray().Count);
        }

        Assert.Equal("batch", workflow["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("data", workflow["metadata"]!["labels"]!["team"]!.GetValue<string>());
        Assert.Equal(3600, spec["ttlStrategy"]!["secondsAfterCompletion"]!.GetValue<int>());
        Assert.Equal(7200, spec["activeDeadlineSeconds"]!.GetValue<long>());
        Assert.Equal("dataflow-runner", spec["serviceAccountName"]!.GetValue<string>());
        Assert.Empty(ArgoSchema.ValidateWorkflow(workflow));
    }

    [Fact]
    public void Emit_MissingImageOrCommand_ThrowsArgumentException()
    {
        var plan = ManifestPlans.ReduceTree(512);
        var noImage = ManifestPlans.S3Options();
        noImage.Image = "";
        var noCommand = ManifestPlans.S3Options();
        noCommand.Command = [];

        Assert.Contains("Image", Assert.Throws<ArgumentException>(() => ArgoWorkflowEmitter.Emit(plan, ManifestPlans.PlanUri, noImage)).Message, StringComparison.Ordinal);
        Assert.Contains("Command", Assert.Throws<ArgumentException>(() => ArgoWorkflowEmitter.Emit(plan, ManifestPlans.PlanUri, noCommand)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(20_000)]
    [InlineData(1_000_000)]
    public void Emit_ReduceTree_ManifestIsSmallValidAndWithinMaxPodsPerStage(int inputs)
    {
        var (plan, took) = ManifestPlans.Timed(inputs);
        var options = ManifestPlans.S3Options();

        var workflow = ArgoWorkflowEmitter.Emit(plan, ManifestPlans.PlanUri, options);
        var json = Encoding.UTF8.GetByteCount(workflow.ToJsonString());
        var yaml = Encoding.UTF8.GetByteCount(ManifestYaml.ToYaml(workflow));
        var pods = PodsPerStage(workflow);
        var perPod = workflow["metadata"]!["annotations"]![PodTemplates.TasksPerPodAnnotation]!.GetValue<string>().Split(',').Select(int.Parse).ToArray();
        var tasks = plan.Stages.Select(s => s.Tasks.Count).ToArray();
        var oneTaskPerPod = ManifestPlans.S3Options();
        oneTaskPerPod.TasksPerPod = 1;
        var estimate = ArgoWorkflowEmitter.EstimateStatusNodesBytes(plan, options);
        var estimateOnePerPod = ArgoWorkflowEmitter.EstimateStatusNodesBytes(plan, oneTaskPerPod);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"inputs {inputs:N0}: {plan.TaskCount:N0} tasks in {plan.Stages.Count} stages; plan made in {took.TotalMilliseconds:N0} ms"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  workflow: JSON {json:N0} bytes, YAML {yaml:N0} bytes, {workflow["spec"]!["templates"]!.AsArray().Count} templates"));
        output.WriteLine($"  tasks per stage:    {string.Join(' ', tasks)}");
        output.WriteLine($"  pods per stage:     {string.Join(' ', pods)} (total {pods.Sum():N0})");
        output.WriteLine($"  tasks per pod:      {string.Join(' ', perPod)}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  status.nodes estimate: {estimate:N0} bytes ({estimate / ArgoWorkflowEmitter.StatusNodeBytes:N0} nodes); one task per pod: {estimateOnePerPod:N0} bytes ({estimateOnePerPod / ArgoWorkflowEmitter.StatusNodeBytes:N0} nodes)"));

        Assert.True(json < ManifestLimit, $"JSON {json} bytes");
        Assert.True(yaml < ManifestLimit, $"YAML {yaml} bytes");
        Assert.All(pods, p => Assert.InRange(p, 1, options.MaxPodsPerStage));
        Assert.InRange(pods.Sum(), 1, options.MaxPodsPerWorkflow!.Value);
        // Every stage gets the fewest tasks per pod under one cap on pods per stage (the largest stage's pods).
        var cap = pods.Max();
        for (var s = 0; s < tasks.Length; s++)
        {
            Assert.Equal((tasks[s] + perPod[s] - 1) / perPod[s], pods[s]);
            Assert.True(perPod[s] == 1 || (long)(perPod[s] - 1) * cap < tasks[s], $"stage {s}: {perPod[s]} tasks per pod is more than needed");
        }

        var errors = ArgoSchema.ValidateWorkflow(workflow);
        Assert.True(errors.Count == 0, string.Join('\n', errors));
        Assert.True(estimate <= estimateOnePerPod);
    }

    [Fact]
    public void Emit_HalfMillionTaskStage_Gets2000PodsOf250Tasks()
    {
        var plan = ManifestPlans.ReduceTree(1_000_000);
        var options = ManifestPlans.S3Options();
        options.MaxPodsPerWorkflow = null;

        var workflow = ArgoWorkflowEmitter.Emit(plan, ManifestPlans.PlanUri, options);

        Assert.Equal(500_000, plan.Stages[0].Tasks.Count);
        Assert.Equal(2000, PodsPerStage(workflow)[0]);
        Assert.Equal(
            ["worker", "--plan", ManifestPlans.PlanUri, "--stage", "0", "--shard-size", "250", "--shard", "{{inputs.parameters.shard}}"],
            Strings(Template(workflow, "stage-0-level-1-pod")["container"]!["args"]!));
    }

    [Fact]
    public void Emit_MillionTaskTree_LargeStagesShareTheWorkflowPodBudgetAndSmallOnesKeepAPodPerTask()
    {
        var plan = ManifestPlans.ReduceTree(1_000_000);
        var options = ManifestPlans.S3Options();
        options.MaxPodsPerWorkflow = 1000;

        var pods = PodsPerStage(ArgoWorkflowEmitter.Emit(plan, ManifestPlans.PlanUri, options));

        Assert.InRange(pods.Sum(), 900, 1000);
        Assert.Equal([1, 2, 4, 8, 16, 31], pods[^6..].Reverse());
        Assert.True(pods[0] < 100, $"stage 0 has {pods[0]} pods");
    }

    [Fact]
    public void EstimateStatusNodesBytes_SeedJob_CountsStepsRetryAndPodNodes()
    {
        var plan = ManifestPlans.ReduceTree(512);

        var bytes = ArgoWorkflowEmitter.EstimateStatusNodesBytes(plan, ManifestPlans.S3Options());

        // root + 9 stages × 3 + 511 pods × 2 (retry node and pod) + publish 3 + exit handler 2
        Assert.Equal((1 + 27 + 1022 + 3 + 2) * ArgoWorkflowEmitter.StatusNodeBytes, bytes);
    }

    internal static JsonObject Template(JsonObject workflow, string name) =>
        workflow["spec"]!["templates"]!.AsArray().Single(t => t!["name"]!.GetValue<string>() == name)!.AsObject();

    internal static string[] Strings(JsonNode array) => array.AsArray().Select(a => a!.GetValue<string>()).ToArray();

    /// <summary>The pods of each stage, read back from the withSequence counts of the stage templates main runs.</summary>
    internal static int[] PodsPerStage(JsonObject workflow)
    {
        var main = Template(workflow, workflow["spec"]!["entrypoint"]!.GetValue<string>());
        return main["steps"]!.AsArray()
            .Select(group => group![0]!["template"]!.GetValue<string>())
            .Where(name => name != "publish")
            .Select(name => Template(workflow, name)["steps"]![0]![0]!["withSequence"]!["count"]!.GetValue<string>())
            .Select(count => int.Parse(count, CultureInfo.InvariantCulture))
            .ToArray();
    }
}
