using System.Text.Json.Nodes;

namespace Dataflow.Kubernetes.Tests.Executors;

public sealed class KubernetesExecutorTests
{
    [Theory]
    [InlineData(null, new int[0])]
    [InlineData("", new int[0])]
    [InlineData("7", new[] { 7 })]
    [InlineData("0-3,5", new[] { 0, 1, 2, 3, 5 })]
    [InlineData("1,3-4, 9-10", new[] { 1, 3, 4, 9, 10 })]
    public void ParseIndexes_CompressedForm_GivesEveryIndex(string? text, int[] expected)
    {
        Assert.Equal(expected, KubernetesExecutor.ParseIndexes(text));
    }

    [Theory]
    [InlineData(new[] { "worker", "--plan", "p", "--stage", "0", "--shard-size", "250" }, 250)]
    [InlineData(new[] { "worker", "--plan", "p", "--stage", "0", "--task", "3" }, 1)]
    public void ShardSize_FromTheWorkersArguments(string[] args, int expected)
    {
        var job = new JsonObject
        {
            ["spec"] = new JsonObject
            {
                ["template"] = new JsonObject
                {
                    ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["args"] = new JsonArray([.. args.Select(a => JsonValue.Create(a))]) }) },
                },
            },
        };

        Assert.Equal(expected, KubernetesExecutor.ShardSize(job));
    }

    [Fact]
    public void JobRunnerOptions_ClusterExecutorWithoutArguments_IsRefusedNamingArguments()
    {
        // Pods define the job again from the run's stored arguments: without any, they could not.
        using var client = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:9" });
        var cluster = new KubernetesExecutorOptions { Client = client, Pods = new PodOptions { Image = "dataflow:test", Command = ["/app/program"] } };

        foreach (var executor in new Executor[] { new KubernetesExecutor(cluster), new ArgoExecutor(cluster) })
        {
            var error = Assert.Throws<ArgumentException>(new JobRunnerOptions { Executor = executor }.Validate);
            Assert.Equal(nameof(JobRunnerOptions.Arguments), error.ParamName);
            Assert.Contains($"the {executor.Name} executor's workers define the job again", error.Message, StringComparison.Ordinal);
            new JobRunnerOptions { Executor = executor, Arguments = [] }.Validate();
        }
    }
}
