using System.Globalization;
using System.Text.Json.Nodes;
using Dataflow.Core;

namespace Dataflow.Kubernetes;

/// <summary>
/// Turns a plan into Kubernetes Jobs (<c>batch/v1</c>), for clusters without Argo: one Indexed Job per stage, each
/// index a pod running a shard of the stage's tasks (the worker takes its shard from <c>$JOB_COMPLETION_INDEX</c>),
/// then a Job that publishes the outputs. A script creates them in order, each after the one before has completed.
/// </summary>
/// <remarks>
/// A pod is retried up to <see cref="PodOptions.RetryLimit"/> times per index (<c>backoffLimitPerIndex</c>), never
/// after a usage error (exit code 2), and the Job fails at the first index that runs out of retries
/// (<c>maxFailedIndexes: 0</c>). Pods evicted or preempted (condition <c>DisruptionTarget</c>) do not count as failures.
/// </remarks>
internal static class KubernetesJobEmitter
{
    /// <summary>The name of the worker container, which the pod failure policy refers to.</summary>
    public const string WorkerContainerName = "worker";

    /// <summary>The name of the publish container.</summary>
    public const string PublishContainerName = "publish";

    private const string PublishSuffix = "-publish";

    /// <summary>Emits the Indexed Job of stage <paramref name="stage"/>, named <c>&lt;base&gt;-s&lt;stage&gt;</c>.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="stage">The stage index.</param>
    /// <param name="planUri">The plan's address as the pods see it.</param>
    /// <param name="options">How the pods are made.</param>
    /// <param name="namePrefix">The base of the Jobs' names; <see langword="null"/> for one made from <c>dataflow-&lt;job&gt;-&lt;run-id&gt;</c>. Made a DNS-1123 label of at most 50 characters (cut with a short hash), so that the Job's name and its pods' <c>&lt;job&gt;-&lt;index&gt;</c> stay within 63.</param>
    /// <returns>The Job.</returns>
    /// <exception cref="ArgumentOutOfRangeException">No such stage.</exception>
    /// <exception cref="ArgumentException">The stage would need more than <see cref="PodOptions.MaxPodsPerIndexedJob"/> pods, or the options are invalid.</exception>
    public static JsonObject EmitStage(Plan plan, int stage, string planUri, PodOptions options, string? namePrefix = null)
    {
        PodTemplates.CheckArguments(plan, planUri, options);
        ArgumentOutOfRangeException.ThrowIfNegative(stage);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stage, plan.Stages.Count);
        return StageJob(plan, StageLayout.Of(plan, options)[stage], planUri, options, namePrefix);
    }

    /// <summary>Emits the Job that publishes the outputs once every stage has completed, named <c>&lt;base&gt;-publish</c>.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="planUri">The plan's address as the pods see it.</param>
    /// <param name="options">How the pods are made.</param>
    /// <param name="namePrefix">The base of the Jobs' names, as for <see cref="EmitStage"/>.</param>
    /// <returns>The Job.</returns>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static JsonObject EmitPublish(Plan plan, string planUri, PodOptions options, string? namePrefix = null)
    {
        PodTemplates.CheckArguments(plan, planUri, options);
        var labels = PodTemplates.Labels(plan, options, null);
        var spec = new JsonObject
        {
            ["completions"] = 1,
            ["parallelism"] = 1,
            ["backoffLimit"] = options.RetryLimit,
            ["podFailurePolicy"] = FailurePolicy(PublishContainerName, "FailJob"),
        };
        var container = PodTemplates.Container(options, PublishContainerName, PodTemplates.PublishArguments(options, planUri), options.Resources);
        return Job(BaseName(plan, namePrefix) + PublishSuffix, labels, spec, container, planUri, options);
    }

    /// <summary>
    /// Emits every Job of the run as one <c>v1</c> <c>List</c> (for <c>kubectl create -f</c>): the stage Jobs in order,
    /// then the publish Job. The Jobs must run one after the other; the list only carries them.
    /// </summary>
    /// <param name="plan">The plan.</param>
    /// <param name="planUri">The plan's address as the pods see it.</param>
    /// <param name="options">How the pods are made.</param>
    /// <param name="namePrefix">The base of the Jobs' names, as for <see cref="EmitStage"/>.</param>
    /// <returns>The list.</returns>
    /// <exception cref="ArgumentException">A stage would need more than <see cref="PodOptions.MaxPodsPerIndexedJob"/> pods, or the options are invalid.</exception>
    public static JsonObject EmitAll(Plan plan, string planUri, PodOptions options, string? namePrefix = null)
    {
        PodTemplates.CheckArguments(plan, planUri, options);
        var items = new JsonArray();
        foreach (var layout in StageLayout.Of(plan, options))
        {
            items.Add((JsonNode)StageJob(plan, layout, planUri, options, namePrefix));
        }

        items.Add((JsonNode)EmitPublish(plan, planUri, options, namePrefix));
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "List", ["items"] = items };
    }

    private static JsonObject StageJob(Plan plan, StageLayout stage, string planUri, PodOptions options, string? namePrefix)
    {
        if (stage.Pods > PodOptions.MaxPodsPerIndexedJob)
        {
            throw new ArgumentException(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"stage {stage.Stage} ({stage.Name}) of job '{plan.Job}' would need {stage.Pods:N0} pods of {stage.TasksPerPod} task(s), more than the {PodOptions.MaxPodsPerIndexedJob:N0} an Indexed Job allows: raise TasksPerPod or leave it automatic"),
                nameof(options));
        }

        var spec = new JsonObject
        {
            ["completionMode"] = "Indexed",
            ["completions"] = stage.Pods,
            ["parallelism"] = stage.Parallelism,
            ["backoffLimitPerIndex"] = stage.RetryLimit,
            ["maxFailedIndexes"] = 0,
            ["podFailurePolicy"] = FailurePolicy(WorkerContainerName, "FailIndex"),
        };
        var container = PodTemplates.Container(
            options, WorkerContainerName, PodTemplates.WorkerArguments(options, planUri, stage, shard: null), stage.Resources);
        var name = BaseName(plan, namePrefix) + "-s" + stage.Stage.ToString(CultureInfo.InvariantCulture);
        return Job(name, PodTemplates.Labels(plan, options, stage.Stage), spec, container, planUri, options);
    }

    private static JsonObject Job(string name, JsonObject labels, JsonObject spec, JsonObject container, string planUri, PodOptions options)
    {
        var metadata = new JsonObject { ["name"] = name };
        if (options.Namespace is { } ns)
        {
            metadata["namespace"] = ns;
        }

        metadata["labels"] = labels;
        metadata["annotations"] = new JsonObject { [PodTemplates.PlanUriAnnotation] = planUri };

        spec["ttlSecondsAfterFinished"] = options.TtlSecondsAfterFinished ?? PodOptions.DefaultJobTtlSecondsAfterFinished;
        if (options.ActiveDeadlineSeconds is { } deadline)
        {
            spec["activeDeadlineSeconds"] = deadline;
        }

        var podSpec = new JsonObject { ["restartPolicy"] = "Never" };
        if (options.ServiceAccountName is { } account)
        {
            podSpec["serviceAccountName"] = account;
        }

        if (PodTemplates.NodeSelector(options) is { } selector)
        {
            podSpec["nodeSelector"] = selector;
        }

        if (PodTemplates.Tolerations(options) is { } tolerations)
        {
            podSpec["tolerations"] = tolerations;
        }

        podSpec["containers"] = new JsonArray(container);
        if (PodTemplates.Volumes(options) is { } volumes)
        {
            podSpec["volumes"] = volumes;
        }

        spec["template"] = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = labels.DeepClone() },
            ["spec"] = podSpec,
        };
        return new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = metadata,
            ["spec"] = spec,
        };
    }

    private static JsonObject FailurePolicy(string containerName, string usageErrorAction) => new()
    {
        ["rules"] = new JsonArray(
            new JsonObject
            {
                ["action"] = usageErrorAction,
                ["onExitCodes"] = new JsonObject
                {
                    ["containerName"] = containerName,
                    ["operator"] = "In",
                    ["values"] = new JsonArray(PodTemplates.UsageErrorExitCode),
                },
            },
            new JsonObject
            {
                ["action"] = "Ignore",
                ["onPodConditions"] = new JsonArray(new JsonObject { ["type"] = "DisruptionTarget" }),
            }),
    };

    private static string BaseName(Plan plan, string? namePrefix)
    {
        // Room for "-s<stage>" (or "-publish") and, as an Indexed Job's pods are named and host-named
        // "<job>-<index>", for "-<index>" of up to 5 digits (fewer than 100,000 pods), within 63 characters.
        const int MaxBase = KubernetesNames.MaxLength - 13;
        return namePrefix is null ? PodTemplates.BaseName(plan, MaxBase) : KubernetesNames.DnsLabel(namePrefix, MaxBase);
    }
}
