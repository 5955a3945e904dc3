using System.Globalization;
using System.Text.Json.Nodes;
using Dataflow.Core;

namespace Dataflow.Kubernetes;

/// <summary>The pieces of a pod that the Argo and Job emitters share: the pod contract's arguments, the container, labels and volumes.</summary>
internal static class PodTemplates
{
    /// <summary>The label with the job's name.</summary>
    public const string JobLabel = "dataflow.io/job";

    /// <summary>The label with the run id.</summary>
    public const string RunIdLabel = "dataflow.io/run-id";

    /// <summary>The label with the stage index.</summary>
    public const string StageLabel = "dataflow.io/stage";

    /// <summary>The annotation with the plan's address.</summary>
    public const string PlanUriAnnotation = "dataflow.io/plan-uri";

    /// <summary>The annotation with the tasks per pod of each stage, comma-separated.</summary>
    public const string TasksPerPodAnnotation = "dataflow.io/tasks-per-pod";

    /// <summary>The name of the volume of a folder store.</summary>
    public const string StoreVolumeName = "dataflow-store";

    /// <summary>The exit code of a usage error: retrying cannot help.</summary>
    public const int UsageErrorExitCode = 2;

    /// <summary>
    /// The worker's arguments per the pod contract: <c>Command[1..] + worker --plan U --stage s --shard-size k
    /// [--shard i] + ExtraArguments</c>; <paramref name="shard"/> <see langword="null"/> leaves <c>--shard</c> out
    /// (an Indexed Job's worker takes <c>$JOB_COMPLETION_INDEX</c>).
    /// </summary>
    public static JsonArray WorkerArguments(PodOptions options, string planUri, StageLayout stage, string? shard)
    {
        List<string> verb =
        [
            "worker",
            "--plan", planUri,
            "--stage", stage.Stage.ToString(CultureInfo.InvariantCulture),
            "--shard-size", stage.TasksPerPod.ToString(CultureInfo.InvariantCulture),
        ];
        if (shard is not null)
        {
            verb.Add("--shard");
            verb.Add(shard);
        }

        return Arguments(options, verb);
    }

    /// <summary>
    /// The publish pod's arguments: <c>Command[1..] + publish --plan U [--workflow W] + ExtraArguments</c>; a step of
    /// an Argo Workflow names its workflow (<paramref name="workflow"/>), to join the lease its driver holds for it.
    /// </summary>
    public static JsonArray PublishArguments(PodOptions options, string planUri, string? workflow = null) =>
        Arguments(options, workflow is null ? ["publish", "--plan", planUri] : ["publish", "--plan", planUri, "--workflow", workflow]);

    /// <summary>The exit handler's arguments: <c>Command[1..] + finish --plan U --status S --workflow W + ExtraArguments</c>.</summary>
    public static JsonArray FinishArguments(PodOptions options, string planUri, string status, string workflow) =>
        Arguments(options, ["finish", "--plan", planUri, "--status", status, "--workflow", workflow]);

    /// <summary>A container running the program with <paramref name="arguments"/>; <paramref name="name"/> <see langword="null"/> leaves the name to the controller (Argo calls it <c>main</c>).</summary>
    public static JsonObject Container(PodOptions options, string? name, JsonArray arguments, PodResources? resources)
    {
        var container = new JsonObject();
        if (name is not null)
        {
            container["name"] = name;
        }

        container["image"] = options.Image;
        container["imagePullPolicy"] = options.ImagePullPolicy;
        container["command"] = new JsonArray(options.Command[0]);
        container["args"] = arguments;

        var env = new JsonArray();
        foreach (var (variable, value) in options.Environment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            env.Add((JsonNode)new JsonObject { ["name"] = variable, ["value"] = value });
        }

        foreach (var (variable, reference) in options.SecretEnvironment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            env.Add((JsonNode)new JsonObject
            {
                ["name"] = variable,
                ["valueFrom"] = new JsonObject
                {
                    ["secretKeyRef"] = new JsonObject { ["name"] = reference.SecretName, ["key"] = reference.Key },
                },
            });
        }

        if (env.Count > 0)
        {
            container["env"] = env;
        }

        if (options.StoreSecretName is { } secret)
        {
            container["envFrom"] = new JsonArray(new JsonObject { ["secretRef"] = new JsonObject { ["name"] = secret } });
        }

        if (Resources(resources) is { } resourceNode)
        {
            container["resources"] = resourceNode;
        }

        if (options.VolumeClaimName is not null)
        {
            container["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = StoreVolumeName, ["mountPath"] = options.MountPath });
        }

        return container;
    }

    /// <summary>The pod's volumes (the folder store's claim), or <see langword="null"/> for none.</summary>
    public static JsonArray? Volumes(PodOptions options) =>
        options.VolumeClaimName is { } claim
            ? new JsonArray(new JsonObject
            {
                ["name"] = StoreVolumeName,
                ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = claim },
            })
            : null;

    /// <summary>The node selector, or <see langword="null"/> for none.</summary>
    public static JsonObject? NodeSelector(PodOptions options) => options.NodeSelector.Count == 0 ? null : StringMap(options.NodeSelector);

    /// <summary>The tolerations, or <see langword="null"/> for none.</summary>
    public static JsonArray? Tolerations(PodOptions options)
    {
        if (options.Tolerations.Count == 0)
        {
            return null;
        }

        var tolerations = new JsonArray();
        foreach (var t in options.Tolerations)
        {
            var node = new JsonObject();
            Add(node, "key", t.Key);
            Add(node, "operator", t.Operator);
            Add(node, "value", t.Value);
            Add(node, "effect", t.Effect);
            if (t.TolerationSeconds is { } seconds)
            {
                node["tolerationSeconds"] = seconds;
            }

            tolerations.Add((JsonNode)node);
        }

        return tolerations;
    }

    /// <summary>The labels of everything made for a run: the job, the run id, the stage if any, and the user's.</summary>
    public static JsonObject Labels(Plan plan, PodOptions options, int? stage)
    {
        var labels = new JsonObject
        {
            [JobLabel] = KubernetesNames.LabelValue(plan.Job),
            [RunIdLabel] = KubernetesNames.LabelValue(plan.RunId),
        };
        if (stage is { } s)
        {
            labels[StageLabel] = s.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in options.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            labels[key] = value;
        }

        return labels;
    }

    /// <summary>The base name of a run's objects: a DNS-1123 label made from <c>dataflow-&lt;job&gt;-&lt;run-id&gt;</c>.</summary>
    public static string BaseName(Plan plan, int maxLength) => KubernetesNames.DnsLabel($"dataflow-{plan.Job}-{plan.RunId}", maxLength);

    /// <summary>Checks the arguments every emitter takes.</summary>
    public static void CheckArguments(Plan plan, string planUri, PodOptions options)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentException.ThrowIfNullOrWhiteSpace(planUri);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
    }

    private static JsonArray Arguments(PodOptions options, IEnumerable<string> verb)
    {
        var args = new JsonArray();
        foreach (var a in options.Command.Skip(1).Concat(verb).Concat(options.ExtraArguments))
        {
            args.Add((JsonNode)a);
        }

        return args;
    }

    private static JsonObject? Resources(PodResources? resources)
    {
        if (resources is null)
        {
            return null;
        }

        var requests = new JsonObject();
        Add(requests, "cpu", resources.CpuRequest);
        Add(requests, "memory", resources.MemoryRequest);
        var limits = new JsonObject();
        Add(limits, "cpu", resources.CpuLimit);
        Add(limits, "memory", resources.MemoryLimit);
        var node = new JsonObject();
        if (requests.Count > 0)
        {
            node["requests"] = requests;
        }

        if (limits.Count > 0)
        {
            node["limits"] = limits;
        }

        return node.Count > 0 ? node : null;
    }

    private static JsonObject StringMap(IReadOnlyDictionary<string, string> map)
    {
        var node = new JsonObject();
        foreach (var (key, value) in map.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            node[key] = value;
        }

        return node;
    }

    private static void Add(JsonObject node, string name, string? value)
    {
        if (value is not null)
        {
            node[name] = value;
        }
    }
}
