namespace Dataflow.Kubernetes.Tests.Manifests;

public sealed class KubernetesJobEmitterTests
{
    [Fact]
    public void EmitStage_SeedJobFirstStage_IsAnIndexedJobPerSpecification()
    {
        var plan = ManifestPlans.ReduceTree(512);
        var options = ManifestPlans.S3Options();
        options.Parallelism = 100;

        var job = KubernetesJobEmitter.EmitStage(plan, 0, ManifestPlans.PlanUri, options, namePrefix: null);
        var spec = job["spec"]!;

        Assert.Equal("batch/v1", job["apiVersion"]!.GetValue<string>());
        Assert.Equal("Job", job["kind"]!.GetValue<string>());
        Assert.Equal("Indexed", spec["completionMode"]!.GetValue<string>());
        Assert.Equal(256, spec["completions"]!.GetValue<int>());
        Assert.Equal(100, spec["parallelism"]!.GetValue<int>());
        Assert.Equal(3, spec["backoffLimitPerIndex"]!.GetValue<int>());
        Assert.Equal(0, spec["maxFailedIndexes"]!.GetValue<int>());
        Assert.Equal(86_400, spec["ttlSecondsAfterFinished"]!.GetValue<int>());
        Assert.Null(spec["activeDeadlineSeconds"]);
        Assert.Equal("Never", spec["template"]!["spec"]!["restartPolicy"]!.GetValue<string>());

        var rules = spec["podFailurePolicy"]!["rules"]!.AsArray();
        Assert.Equal("FailIndex", rules[0]!["action"]!.GetValue<string>());
        Assert.Equal("worker", rules[0]!["onExitCodes"]!["containerName"]!.GetValue<string>());
        Assert.Equal("In", rules[0]!["onExitCodes"]!["operator"]!.GetValue<string>());
        Assert.Equal(2, Assert.Single(rules[0]!["onExitCodes"]!["values"]!.AsArray())!.GetValue<int>());
        Assert.Equal("Ignore", rules[1]!["action"]!.GetValue<string>());
        Assert.Equal("DisruptionTarget", Assert.Single(rules[1]!["onPodConditions"]!.AsArray())!["type"]!.GetValue<string>());

        var labels = job["metadata"]!["labels"]!;
        Assert.Equal("merge-files", labels["dataflow.io/job"]!.GetValue<string>());
        Assert.Equal(ManifestPlans.RunId, labels["dataflow.io/run-id"]!.GetValue<string>());
        Assert.Equal("0", labels["dataflow.io/stage"]!.GetValue<string>());
        Assert.Equal(labels.ToJsonString(), spec["template"]!["metadata"]!["labels"]!.ToJsonString());
        Assert.Equal("dataflow-merge-files-20261129-024455-3fa2c1-s0", job["metadata"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void EmitStage_Worker_ArgumentsFollowThePodContractWithoutShard()
    {
        var options = ManifestPlans.S3Options();
        options.Command = ["/app/merge-files", "--verbose"];
        options.ExtraArguments = ["--files", "512"];

        var job = KubernetesJobEmitter.EmitStage(ManifestPlans.ReduceTree(512), 3, ManifestPlans.PlanUri, options, namePrefix: "merge");
        var container = Assert.Single(job["spec"]!["template"]!["spec"]!["containers"]!.AsArray())!;

        Assert.Equal("worker", container["name"]!.GetValue<string>());
        Assert.Equal(["/app/merge-files"], ArgoWorkflowEmitterTests.Strings(container["command"]!));
        Assert.Equal(
            ["--verbose", "worker", "--plan", ManifestPlans.PlanUri, "--stage", "3", "--shard-size", "1", "--files", "512"],
            ArgoWorkflowEmitterTests.Strings(container["args"]!));
        Assert.Equal("merge-s3", job["metadata"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void EmitStage_HalfMillionTasks_Gets2000PodsOf250Tasks()
    {
        var job = KubernetesJobEmitter.EmitStage(ManifestPlans.ReduceTree(1_000_000), 0, ManifestPlans.PlanUri, ManifestPlans.S3Options(), namePrefix: null);

        Assert.Equal(2000, job["spec"]!["completions"]!.GetValue<int>());
        Assert.Equal(2000, job["spec"]!["parallelism"]!.GetValue<int>());
        Assert.Contains("250", ArgoWorkflowEmitterTests.Strings(job["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!));
    }

    [Fact]
    public void EmitStage_MoreThan100000Pods_ThrowsNamingJobAndStage()
    {
        var options = ManifestPlans.S3Options();
        options.TasksPerPod = 1;

        var error = Assert.Throws<ArgumentException>(() => KubernetesJobEmitter.EmitStage(ManifestPlans.ReduceTree(1_000_000), 0, ManifestPlans.PlanUri, options, namePrefix: null));

        Assert.Contains("merge-files", error.Message, StringComparison.Ordinal);
        Assert.Contains("stage 0 (level-1)", error.Message, StringComparison.Ordinal);
        Assert.Contains("500,000 pods", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => KubernetesJobEmitter.EmitAll(ManifestPlans.ReduceTree(1_000_000), ManifestPlans.PlanUri, options));
    }

    [Fact]
    public void EmitStage_Exactly100000Pods_IsAccepted()
    {
        var options = ManifestPlans.S3Options();
        options.TasksPerPod = 5;

        var job = KubernetesJobEmitter.EmitStage(ManifestPlans.ReduceTree(1_000_000), 0, ManifestPlans.PlanUri, options, namePrefix: null);

        Assert.Equal(100_000, job["spec"]!["completions"]!.GetValue<int>());
    }

    [Fact]
    public void EmitStage_NoSuchStage_ThrowsArgumentOutOfRange()
    {
        var plan = ManifestPlans.ReduceTree(512);

        Assert.Throws<ArgumentOutOfRangeException>(() => KubernetesJobEmitter.EmitStage(plan, 9, ManifestPlans.PlanUri, ManifestPlans.S3Options(), null));
        Assert.Throws<ArgumentOutOfRangeException>(() => KubernetesJobEmitter.EmitStage(plan, -1, ManifestPlans.PlanUri, ManifestPlans.S3Options(), null));
    }

    [Fact]
    public void EmitPublish_Defaults_IsOnePodWithRetries()
    {
        var options = ManifestPlans.S3Options();
        options.ActiveDeadlineSeconds = 600;
        options.TtlSecondsAfterFinished = 60;

        var job = KubernetesJobEmitter.EmitPublish(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, options, namePrefix: null);
        var spec = job["spec"]!;

        Assert.Equal(1, spec["completions"]!.GetValue<int>());
        Assert.Equal(3, spec["backoffLimit"]!.GetValue<int>());
        Assert.Null(spec["completionMode"]);
        Assert.Equal(600, spec["activeDeadlineSeconds"]!.GetValue<long>());
        Assert.Equal(60, spec["ttlSecondsAfterFinished"]!.GetValue<int>());
        Assert.Equal("FailJob", spec["podFailurePolicy"]!["rules"]![0]!["action"]!.GetValue<string>());
        var container = spec["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(["publish", "--plan", ManifestPlans.PlanUri], ArgoWorkflowEmitterTests.Strings(container["args"]!));
        Assert.Equal("dataflow-merge-files-20261129-024455-3fa2c1-publish", job["metadata"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void EmitAll_SeedJob_ListsStageJobsInOrderThenPublish()
    {
        var list = KubernetesJobEmitter.EmitAll(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, ManifestPlans.S3Options());

        Assert.Equal("v1", list["apiVersion"]!.GetValue<string>());
        Assert.Equal("List", list["kind"]!.GetValue<string>());
        var items = list["items"]!.AsArray();
        Assert.Equal(10, items.Count);
        Assert.Equal([256, 128, 64, 32, 16, 8, 4, 2, 1], items.Take(9).Select(j => j!["spec"]!["completions"]!.GetValue<int>()));
        Assert.EndsWith("-publish", items[9]!["metadata"]!["name"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void EmitAll_LongJobNameAndPrefix_NamesAreDnsLabelsOfAtMost63()
    {
        var plan = ManifestPlans.ReduceTree(64, "Merge_Files.For." + new string('x', 30) + ".Quarterly");
        foreach (var prefix in new string?[] { null, "My.Very_Long." + new string('P', 80) })
        {
            var list = KubernetesJobEmitter.EmitAll(plan, ManifestPlans.PlanUri, ManifestPlans.S3Options(), prefix);
            var names = list["items"]!.AsArray().Select(j => j!["metadata"]!["name"]!.GetValue<string>()).ToArray();

            Assert.All(names, n => Assert.True(KubernetesNames.IsDnsLabel(n), n));
            Assert.All(names.SkipLast(1), n => Assert.True(n.Length + "-99999".Length <= 63, $"{n}: pod names <job>-<index> would pass 63"));
            Assert.Equal(names.Length, names.Distinct().Count());
            Assert.All(
                list["items"]!.AsArray().SelectMany(j => j!["metadata"]!["labels"]!.AsObject()),
                l => Assert.True(KubernetesNames.IsLabelValue(l.Value!.GetValue<string>()), l.Value.GetValue<string>()));
        }
    }

    [Fact]
    public void EmitStage_VolumeClaimAndSecrets_InThePodSpec()
    {
        var options = ManifestPlans.S3Options();
        options.VolumeClaimName = "dataflow-data";
        options.MountPath = "/data";
        options.SecretEnvironment = new Dictionary<string, SecretKeyReference> { ["STORE_PASSWORD"] = new("store", "password") };

        var job = KubernetesJobEmitter.EmitStage(ManifestPlans.ReduceTree(512), 0, ManifestPlans.PlanUri, options, null);
        var podSpec = job["spec"]!["template"]!["spec"]!;
        var container = podSpec["containers"]![0]!;

        Assert.Equal("dataflow-data", podSpec["volumes"]![0]!["persistentVolumeClaim"]!["claimName"]!.GetValue<string>());
        Assert.Equal("/data", container["volumeMounts"]![0]!["mountPath"]!.GetValue<string>());
        Assert.Equal("dataflow-store", container["envFrom"]![0]!["secretRef"]!["name"]!.GetValue<string>());
        var password = container["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "STORE_PASSWORD")!;
        Assert.Null(password["value"]);
        Assert.Equal("password", password["valueFrom"]!["secretKeyRef"]!["key"]!.GetValue<string>());
        Assert.Equal("dataflow-runner", podSpec["serviceAccountName"]!.GetValue<string>());
    }
}
