namespace Dataflow.Kubernetes.Tests.Manifests;

public sealed class PodOptionsTests
{
    [Fact]
    public void Constructor_Defaults_AreTheDocumentedOnes()
    {
        var options = new PodOptions();

        Assert.Equal("IfNotPresent", options.ImagePullPolicy);
        Assert.Null(options.TasksPerPod);
        Assert.Equal(2000, options.MaxPodsPerStage);
        Assert.Null(options.Parallelism);
        Assert.Equal(3, options.RetryLimit);
        Assert.Equal(new RetryBackoff("5s", 2, "5m"), options.RetryBackoff);
        Assert.Equal("Always", options.RetryPolicy);
        Assert.Equal("OnPodSuccess", options.PodGcStrategy);
        Assert.Null(options.TtlSecondsAfterFinished);
        Assert.Empty(options.Environment);
    }

    [Theory]
    [InlineData("AWS_ACCESS_KEY_ID")]
    [InlineData("AWS_SECRET_ACCESS_KEY")]
    [InlineData("AWS_SESSION_TOKEN")]
    [InlineData("MY_SECRET")]
    [InlineData("db_password")]
    [InlineData("GITHUB_TOKEN")]
    public void Environment_CredentialName_ThrowsArgumentException(string name)
    {
        var options = new PodOptions();

        var error = Assert.Throws<ArgumentException>(() => options.Environment = new Dictionary<string, string> { [name] = "value" });

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
        Assert.Contains("Secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Emit_CredentialAddedToDictionaryAfterAssignment_IsNotEmitted()
    {
        var environment = new Dictionary<string, string> { ["AWS_REGION"] = "eu-central-1" };
        var options = ManifestPlans.S3Options();
        options.Environment = environment;
        environment["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI";

        // The options keep a copy: the later change does not reach them, and nothing secret is emitted.
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, options);

        Assert.DoesNotContain("wJalrXUtnFEMI", workflow.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Setters_OutOfRange_Throw()
    {
        var options = new PodOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxPodsPerStage = 100_001);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxPodsPerStage = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.TasksPerPod = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Parallelism = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.RetryLimit = -1);
        Assert.Throws<ArgumentException>(() => options.RetryPolicy = "Sometimes");
        Assert.Throws<ArgumentException>(() => options.PodGcStrategy = "Never");
        Assert.Throws<ArgumentException>(() => options.ImagePullPolicy = "Maybe");
        options.MaxPodsPerStage = 100_000;
        options.RetryPolicy = "OnTransientError";
    }

    [Fact]
    public void Emit_VolumeClaimWithoutMountPath_ThrowsArgumentException()
    {
        var options = ManifestPlans.S3Options();
        options.VolumeClaimName = "data";

        var error = Assert.Throws<ArgumentException>(() => ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, options));

        Assert.Contains("MountPath", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Emit_DataflowLabel_ThrowsArgumentException()
    {
        var options = ManifestPlans.S3Options();
        options.Labels = new Dictionary<string, string> { ["dataflow.io/job"] = "other" };

        Assert.Throws<ArgumentException>(() => KubernetesJobEmitter.EmitAll(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, options));
    }

    [Theory]
    [InlineData(512, 2000, 0, 1, 256)]
    [InlineData(512, 3, 0, 86, 3)]
    [InlineData(512, 2000, 8, 1, 1)]
    [InlineData(20_000, 2000, 0, 5, 2000)]
    [InlineData(20_000, 2000, 1, 3, 1667)]
    [InlineData(1_000_000, 2000, 0, 250, 2000)]
    [InlineData(1_000_000, 2000, 2, 63, 1985)]
    public void StageLayout_AutomaticTasksPerPod_IsTheFewestThatFit(int inputs, int maxPods, int stage, int expectedPerPod, int expectedPods)
    {
        var options = ManifestPlans.S3Options();
        options.MaxPodsPerStage = maxPods;

        var layout = StageLayout.Of(ManifestPlans.ReduceTree(inputs), options)[stage];

        Assert.Equal(expectedPerPod, layout.TasksPerPod);
        Assert.Equal(expectedPods, layout.Pods);
        Assert.Equal(expectedPods, layout.Parallelism);
    }

    [Fact]
    public void StageLayout_ExplicitTasksPerPod_IsUsedAsGiven()
    {
        var options = ManifestPlans.S3Options();
        options.TasksPerPod = 3;
        options.Parallelism = 10;

        var layouts = StageLayout.Of(ManifestPlans.ReduceTree(512), options);

        Assert.Equal([86, 43, 22, 11, 6, 3, 2, 1, 1], layouts.Select(l => l.Pods));
        Assert.Equal([10, 10, 10, 10, 6, 3, 2, 1, 1], layouts.Select(l => l.Parallelism));
        Assert.All(layouts, l => Assert.Equal(3, l.TasksPerPod));
    }
}
