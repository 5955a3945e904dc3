using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Dataflow.Kubernetes.Tests.Manifests;

public sealed class ArgoSchemaTests(ITestOutputHelper output)
{
    // Hand-written after Argo's hello-world and loops-sequence examples, with a retry limit given as a number.
    private const string KnownGood = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata:
          generateName: hello-
          labels:
            app: hello
        spec:
          entrypoint: main
          templates:
          - name: main
            parallelism: 2
            steps:
            - - name: hello
                template: hello
                arguments:
                  parameters:
                  - name: shard
                    value: "{{item}}"
                withSequence:
                  count: "5"
          - name: hello
            inputs:
              parameters:
              - name: shard
            retryStrategy:
              limit: 3
              retryPolicy: Always
              backoff:
                duration: 5s
                factor: 2
                maxDuration: 5m
            container:
              image: busybox
              command: [echo]
              args: ["hello {{inputs.parameters.shard}}"]
              resources:
                requests:
                  cpu: 1
                  memory: 64Mi
        """;

    private static JsonObject KnownGoodWorkflow() => YamlToJson.Parse(KnownGood)!.AsObject();

    [Fact]
    public void ValidateWorkflow_KnownGoodWorkflow_HasNoErrors()
    {
        Assert.Empty(ArgoSchema.ValidateWorkflow(KnownGoodWorkflow()));
    }

    [Fact]
    public void ValidateWorkflow_MisspeltWithSequence_IsRefused()
    {
        var workflow = KnownGoodWorkflow();
        var step = workflow["spec"]!["templates"]![0]!["steps"]![0]![0]!.AsObject();
        var sequence = step["withSequence"]!;
        step.Remove("withSequence");
        step["withSequnce"] = sequence;

        var errors = ArgoSchema.ValidateWorkflow(workflow);

        output.WriteLine(string.Join('\n', errors));
        Assert.Contains(errors, e => e.Contains("/spec/templates/0/steps/0/0/withSequnce", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateWorkflow_MisspeltRetryLimit_IsRefused()
    {
        var workflow = KnownGoodWorkflow();
        var retry = workflow["spec"]!["templates"]![1]!["retryStrategy"]!.AsObject();
        retry.Remove("limit");
        retry["limt"] = 3;

        var errors = ArgoSchema.ValidateWorkflow(workflow);

        Assert.Contains(errors, e => e.Contains("/spec/templates/1/retryStrategy/limt", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateWorkflow_WrongType_IsRefused()
    {
        var workflow = KnownGoodWorkflow();
        workflow["spec"]!["templates"]![0]!["parallelism"] = "two";

        var errors = ArgoSchema.ValidateWorkflow(workflow);

        output.WriteLine(string.Join('\n', errors));
        Assert.Contains(errors, e => e.Contains("/spec/templates/0/parallelism", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateWorkflow_RetryLimitAsNumberOrString_HasNoErrors()
    {
        var workflow = KnownGoodWorkflow();
        workflow["spec"]!["templates"]![1]!["retryStrategy"]!["limit"] = "3";

        Assert.Empty(ArgoSchema.ValidateWorkflow(workflow));
    }

    [Fact]
    public void ValidateWorkflow_ManyThreadsAtOnce_AgreeWithOneThread()
    {
        var good = KnownGoodWorkflow();
        var bad = KnownGoodWorkflow();
        bad["spec"]!["entrypont"] = "main";

        var results = Enumerable.Range(0, 16).AsParallel().Select(i => ArgoSchema.ValidateWorkflow(i % 2 == 0 ? good : bad).Count).ToArray();

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(i % 2 == 0, results[i] == 0);
        }
    }
}
