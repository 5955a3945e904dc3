using System.Globalization;
using System.Text.Json.Nodes;
using Dataflow.Core;

namespace Dataflow.Kubernetes;

/// <summary>
/// Turns a plan into one Argo Workflow (<c>argoproj.io/v1alpha1</c>) whose size does not depend on the task count:
/// each stage is one step that fans out over its pods with <c>withSequence</c>, and each pod runs a shard of the
/// stage's tasks through the worker command of the pod contract.
/// </summary>
/// <remarks>
/// The workflow: <c>main</c> runs one step per stage in order, then <c>publish</c>; <c>spec.onExit</c> runs
/// <c>finish</c> with the workflow's status. A worker pod that exits with code 2 (usage error) is not retried.
/// </remarks>
internal static class ArgoWorkflowEmitter
{
    /// <summary>
    /// The estimated size of one node record in a workflow's <c>status.nodes</c>, in bytes of JSON: the middle of the
    /// 400–600 bytes a pod node takes (id, name, displayName, type, templateName, phase, boundaryID, children,
    /// startedAt, finishedAt, resourcesDuration, outputs.exitCode, hostNodeName).
    /// </summary>
    public const int StatusNodeBytes = 500;

    /// <summary>The workflow annotation that lists the tasks per pod of each stage, comma-separated, e.g. <c>250,125,1</c>.</summary>
    public const string TasksPerPodAnnotation = PodTemplates.TasksPerPodAnnotation;

    /// <summary>The exit handler's status argument, filled in by Argo.</summary>
    internal const string WorkflowStatus = "{{workflow.status}}";

    /// <summary>Argo's name of the workflow, which its steps give to join the lease its driver holds for it.</summary>
    internal const string WorkflowName = "{{workflow.name}}";

    /// <summary>The worker's shard argument, the template's input parameter.</summary>
    internal const string ShardParameter = "{{inputs.parameters.shard}}";

    /// <summary>The retry condition: a usage error (exit code 2) is never retried. A test server interprets exactly this text.</summary>
    internal const string RetryExpression = "asInt(lastRetry.exitCode) != 2";

    private const string EntryTemplate = "main";
    private const string PublishTemplate = "publish";
    private const string FinishTemplate = "finish";

    /// <summary>Emits the workflow running <paramref name="plan"/>, whose pods read the plan at <paramref name="planUri"/>.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="planUri">The plan's address as the pods see it, e.g. <c>s3://bucket/prefix/_dataflow/runs/&lt;run-id&gt;/plan.json</c>.</param>
    /// <param name="options">How the pods are made.</param>
    /// <returns>The workflow, ready to be written as JSON or YAML (<see cref="ManifestYaml"/>).</returns>
    /// <exception cref="ArgumentException">The plan has an empty stage, or the options are invalid.</exception>
    public static JsonObject Emit(Plan plan, string planUri, PodOptions options)
    {
        PodTemplates.CheckArguments(plan, planUri, options);
        var layouts = StageLayout.Of(plan, options, options.MaxPodsPerWorkflow);

        var mainSteps = new JsonArray();
        var templates = new JsonArray();
        var stageTemplates = new List<JsonObject>(layouts.Count * 2);
        foreach (var stage in layouts)
        {
            var name = KubernetesNames.DnsLabel(
                string.Create(CultureInfo.InvariantCulture, $"stage-{stage.Stage}-{stage.Name}"),
                KubernetesNames.MaxLength - 4);
            var podTemplate = name + "-pod";
            mainSteps.Add((JsonNode)new JsonArray(new JsonObject { ["name"] = name, ["template"] = name }));
            stageTemplates.Add(new JsonObject
            {
                ["name"] = name,
                ["parallelism"] = stage.Parallelism,
                ["steps"] = new JsonArray(new JsonArray(new JsonObject
                {
                    ["name"] = "shard",
                    ["template"] = podTemplate,
                    ["arguments"] = new JsonObject
                    {
                        ["parameters"] = new JsonArray(new JsonObject { ["name"] = "shard", ["value"] = "{{item}}" }),
                    },
                    ["withSequence"] = new JsonObject { ["count"] = stage.Pods.ToString(CultureInfo.InvariantCulture) },
                })),
            });
            var podTemplateNode = new JsonObject
            {
                ["name"] = podTemplate,
                ["inputs"] = new JsonObject { ["parameters"] = new JsonArray(new JsonObject { ["name"] = "shard" }) },
                ["metadata"] = new JsonObject { ["labels"] = PodTemplates.Labels(plan, options, stage.Stage) },
            };
            AddPodPieces(podTemplateNode, options, stage.RetryLimit);
            podTemplateNode["container"] = PodTemplates.Container(
                options, null, PodTemplates.WorkerArguments(options, planUri, stage, ShardParameter), stage.Resources);
            stageTemplates.Add(podTemplateNode);
        }

        mainSteps.Add((JsonNode)new JsonArray(new JsonObject { ["name"] = PublishTemplate, ["template"] = PublishTemplate }));
        templates.Add((JsonNode)new JsonObject { ["name"] = EntryTemplate, ["steps"] = mainSteps });
        foreach (var template in stageTemplates)
        {
            templates.Add((JsonNode)template);
        }

        templates.Add((JsonNode)ContainerTemplate(PublishTemplate, options, PodTemplates.PublishArguments(options, planUri, WorkflowName), options.RetryLimit));
        templates.Add((JsonNode)ContainerTemplate(FinishTemplate, options, PodTemplates.FinishArguments(options, planUri, WorkflowStatus, WorkflowName), options.RetryLimit));

        var metadata = new JsonObject { ["name"] = PodTemplates.BaseName(plan, KubernetesNames.MaxLength) };
        if (options.Namespace is { } ns)
        {
            metadata["namespace"] = ns;
        }

        metadata["labels"] = PodTemplates.Labels(plan, options, null);
        metadata["annotations"] = new JsonObject
        {
            [PodTemplates.PlanUriAnnotation] = planUri,
            [PodTemplates.TasksPerPodAnnotation] = string.Join(',', layouts.Select(l => l.TasksPerPod.ToString(CultureInfo.InvariantCulture))),
        };

        var spec = new JsonObject
        {
            ["entrypoint"] = EntryTemplate,
            ["onExit"] = FinishTemplate,
        };
        if (options.ServiceAccountName is { } account)
        {
            spec["serviceAccountName"] = account;
        }

        spec["podGC"] = new JsonObject { ["strategy"] = options.PodGcStrategy };
        if (options.ActiveDeadlineSeconds is { } deadline)
        {
            spec["activeDeadlineSeconds"] = deadline;
        }

        if (options.TtlSecondsAfterFinished is { } ttl)
        {
            spec["ttlStrategy"] = new JsonObject { ["secondsAfterCompletion"] = ttl };
        }

        spec["podMetadata"] = new JsonObject { ["labels"] = PodTemplates.Labels(plan, options, null) };
        if (PodTemplates.Volumes(options) is { } volumes)
        {
            spec["volumes"] = volumes;
        }

        spec["templates"] = templates;
        return new JsonObject
        {
            ["apiVersion"] = "argoproj.io/v1alpha1",
            ["kind"] = "Workflow",
            ["metadata"] = metadata,
            ["spec"] = spec,
        };
    }

    /// <summary>
    /// Estimates the bytes of JSON the workflow of <paramref name="plan"/> will hold in <c>status.nodes</c> once it has
    /// run without a failure: <see cref="StatusNodeBytes"/> per node, counting the root, per stage a step group in
    /// <c>main</c>, the stage's steps node and its step group, per pod a retry node and its pod node, and the publish
    /// and exit handler nodes. Each retried attempt adds one more node.
    /// </summary>
    /// <param name="plan">The plan.</param>
    /// <param name="options">How the pods are made (their <see cref="PodOptions.TasksPerPod"/> decides the pod count).</param>
    /// <returns>The estimated size in bytes.</returns>
    public static long EstimateStatusNodesBytes(Plan plan, PodOptions options)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        long nodes = 1;
        foreach (var stage in StageLayout.Of(plan, options, options.MaxPodsPerWorkflow))
        {
            nodes += 3 + (2L * stage.Pods);
        }

        nodes += 3; // publish: step group, retry node, pod
        nodes += 2; // exit handler: retry node, pod
        return nodes * StatusNodeBytes;
    }

    private static JsonObject ContainerTemplate(string name, PodOptions options, JsonArray arguments, int retryLimit)
    {
        var template = new JsonObject
        {
            ["name"] = name,
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [PodTemplates.StageLabel] = name } },
        };
        AddPodPieces(template, options, retryLimit);
        template["container"] = PodTemplates.Container(options, null, arguments, options.Resources);
        return template;
    }

    private static void AddPodPieces(JsonObject template, PodOptions options, int retryLimit)
    {
        template["retryStrategy"] = new JsonObject
        {
            ["limit"] = retryLimit,
            ["retryPolicy"] = options.RetryPolicy,
            ["backoff"] = new JsonObject
            {
                ["duration"] = options.RetryBackoff.Duration,
                ["factor"] = options.RetryBackoff.Factor,
                ["maxDuration"] = options.RetryBackoff.MaxDuration,
            },
            ["expression"] = RetryExpression,
        };
        if (PodTemplates.NodeSelector(options) is { } selector)
        {
            template["nodeSelector"] = selector;
        }

        if (PodTemplates.Tolerations(options) is { } tolerations)
        {
            template["tolerations"] = tolerations;
        }
    }
}
