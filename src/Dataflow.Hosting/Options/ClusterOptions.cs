using System.Runtime.CompilerServices;
using Dataflow.Kubernetes;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The pod options of <c>--executor kubernetes|argo</c> and of <c>plan</c>, and what they make: the pods' options and
/// the cluster executor.
/// </summary>
internal sealed class ClusterOptions
{
    /// <summary>The environment variables a pod may get in plain text: where the store is, never who may use it.</summary>
    private static readonly string[] s_podEnvironment = ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"];

    private readonly AppOption<string?> _image = new("--image", "For --executor kubernetes|argo and plan --emit: the container image of this program (see deploy/Dockerfile).", null, "IMAGE", null, null);
    private readonly AppOption<string?> _imageEntrypoint = new("--image-entrypoint", "The program's path inside the image. Default: /app/<program>.", null, "PATH", null, null);
    private readonly AppOption<string?> _namespace = new("--namespace", "The Kubernetes namespace. Default: the kubeconfig context's, else 'default'.", null, "NS", null, null);
    private readonly AppOption<string?> _kubeconfig = new("--kubeconfig", "The kubeconfig file. Default: in a pod, its service account; else $KUBECONFIG or ~/.kube/config.", null, "FILE", null, null);
    private readonly AppOption<string?> _kubeContext = new("--kube-context", "The kubeconfig context. Default: its current context.", null, "NAME", null, null);
    private readonly AppOption<string?> _serviceAccount = new("--service-account", "The service account of the pods (and of an Argo Workflow); see deploy/kubernetes/rbac.yaml.", null, "NAME", null, null);
    private readonly AppOption<string?> _storeSecret = new("--store-secret", "The Secret whose keys the pods get as environment variables: the store's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Credentials never travel in a manifest.", null, "NAME", null, null);
    private readonly AppOption<string?> _volumeClaim = new("--volume-claim", "For a folder store: the PersistentVolumeClaim that holds it; the pods mount it at the store's own path.", null, "NAME", null, null);
    private readonly AppOption<int?> _tasksPerPod = new("--tasks-per-pod", "Tasks each pod runs. Default: per stage, the fewest that keep the stage within 2,000 pods (and an Argo Workflow within 4,000).", null, "N", null, v => v is null or >= 1 ? null : "must be 1 or more");
    private readonly AppOption<int?> _podParallelism = new("--pod-parallelism", "Pods of a stage running at once. Default: all of them.", null, "N", null, v => v is null or >= 1 ? null : "must be 1 or more");
    private readonly AppOption<int> _podRetries = new("--pod-retries", "Retries of a failed pod (its shard only).", 3, "N", null, v => v is >= 0 and <= 100 ? null : "must be between 0 and 100");
    private readonly AppOption<string?> _podCpu = new("--pod-cpu", "CPU of each pod (request and limit), e.g. 500m or 2.", null, "CPU", null, null);
    private readonly AppOption<string?> _podMemory = new("--pod-memory", "Memory of each pod (request and limit), e.g. 512Mi.", null, "SIZE", null, null);
    private readonly AppOption<string> _pullPolicy = new("--image-pull-policy", "IfNotPresent, Always or Never.", "IfNotPresent", "POLICY", null, v => v is "IfNotPresent" or "Always" or "Never" ? null : "must be IfNotPresent, Always or Never");
    private readonly AppOption<string?> _nodeSelector = new("--node-selector", "Node labels the pods need, e.g. pool=batch,zone=a.", null, "K=V,…", null, null);
    private readonly AppOption<TimeSpan?> _deadline = new("--deadline", "How long the whole run may take on the cluster (activeDeadlineSeconds), e.g. 2h.", null, "DURATION", t => Duration.Parse(t), null);

    /// <summary>Every pod option, in the order of <c>--help</c>.</summary>
    public AppOption[] All =>
        [_image, _imageEntrypoint, _namespace, _kubeconfig, _kubeContext, _serviceAccount, _storeSecret, _volumeClaim, _tasksPerPod, _podParallelism, _podRetries, _podCpu, _podMemory, _pullPolicy, _nodeSelector, _deadline];

    /// <summary>The executable's name in the image (<c>/app/&lt;name&gt;</c>), when it is not the program's: one job of a program of several.</summary>
    public string? Executable { get; set; }

    /// <summary>The arguments before the pods' command (<c>worker</c>, <c>publish</c>, <c>finish</c>): the job's name in a program of several.</summary>
    public IReadOnlyList<string> CommandPrefix { get; set; } = [];

    /// <summary>
    /// The pods' options from the command line, for the manifests of a run in <paramref name="store"/>: in the namespace
    /// of <c>--namespace</c>, or in none (then <c>kubectl -n</c> or <c>argo submit -n</c> chooses). The pods' processes
    /// get <paramref name="extraArguments"/> after their own.
    /// </summary>
    /// <exception cref="FormatException">An option is missing or wrong for the store; the message names it.</exception>
    public PodOptions CreatePodOptions(RunContext context, IObjectStore store, IReadOnlyList<string> extraArguments) =>
        CreatePodOptions(context, store, extraArguments, context.Get(_namespace));

    /// <summary>The cluster executor for <paramref name="kind"/>, with a client from the kubeconfig options.</summary>
    /// <exception cref="FormatException">An option is missing or wrong.</exception>
    /// <exception cref="InvalidOperationException">No Kubernetes configuration was found.</exception>
    /// <exception cref="NotSupportedException">This program is a Native AOT build, which cannot drive a cluster.</exception>
    public Executor CreateExecutor(RunContext context, IObjectStore store, ExecutorKind kind, IReadOnlyList<string> extraArguments)
    {
        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            // KubernetesClient serializes its models by reflection, which a Native AOT program does not have; the
            // check is a constant there, so none of the client is compiled into it. Pods run the AOT program anyway:
            // the worker, publish and finish commands need no client.
            throw new NotSupportedException(
                $"{context.ProgramName} is a Native AOT build, which cannot drive a cluster (--executor {kind.ToString().ToLowerInvariant()}): " +
                "run the driver with the JIT build of the program (dotnet run, or dotnet publish without PublishAot); its pods may run this AOT build");
        }

        var (client, configured) = KubernetesClients.Create(context.Get(_kubeconfig), context.Get(_kubeContext));
        var @namespace = context.Get(_namespace) ?? configured;
        var options = new KubernetesExecutorOptions
        {
            Pods = CreatePodOptions(context, store, extraArguments, @namespace),
            Client = client,
            Namespace = @namespace,
        };
        return kind == ExecutorKind.Argo ? new ArgoExecutor(options) : new KubernetesExecutor(options);
    }

    /// <summary>
    /// The pods' options from the command line, for a run in <paramref name="store"/>, in <paramref name="namespace"/>
    /// (<see langword="null"/>: the manifests name none, and <c>kubectl -n</c> or <c>argo submit -n</c> chooses).
    /// </summary>
    /// <exception cref="FormatException">An option is missing or wrong for the store; the message names it.</exception>
    private PodOptions CreatePodOptions(RunContext context, IObjectStore store, IReadOnlyList<string> extraArguments, string? @namespace)
    {
        var image = context.Get(_image) ?? throw new FormatException("running on Kubernetes needs --image: the container image of this program");
        var options = new PodOptions
        {
            Image = image,
            ImagePullPolicy = context.Get(_pullPolicy),
            Command = [context.Get(_imageEntrypoint) ?? $"/app/{Executable ?? context.ProgramName}", .. CommandPrefix],
            ExtraArguments = extraArguments,
            Namespace = @namespace,
            ServiceAccountName = context.Get(_serviceAccount),
            StoreSecretName = context.Get(_storeSecret),
            RetryLimit = context.Get(_podRetries),
            Parallelism = context.Get(_podParallelism),
            TasksPerPod = context.Get(_tasksPerPod),
            ActiveDeadlineSeconds = context.Get(_deadline) is { } deadline ? (long)Math.Ceiling(deadline.TotalSeconds) : null,
            Environment = s_podEnvironment
                .Select(name => (name, value: Environment.GetEnvironmentVariable(name)))
                .Where(e => !string.IsNullOrEmpty(e.value))
                .ToDictionary(e => e.name, e => e.value!),
        };
        if (context.Get(_podCpu) is not null || context.Get(_podMemory) is not null)
        {
            options.Resources = new PodResources(context.Get(_podCpu), context.Get(_podMemory), context.Get(_podCpu), context.Get(_podMemory));
        }

        if (context.Get(_nodeSelector) is { } selector)
        {
            options.NodeSelector = ParsePairs(selector, "--node-selector");
        }

        if (store.Location.StartsWith("file://", StringComparison.Ordinal))
        {
            // The plan's address is the folder's path: pods find it when the claim is mounted at the same path.
            options.VolumeClaimName = context.Get(_volumeClaim)
                ?? throw new FormatException($"the store {store.Location} is a folder: give --volume-claim, the PersistentVolumeClaim that holds it (pods mount it at the same path), or use an s3:// or oss:// store");
            options.MountPath = new Uri(store.Location).LocalPath.TrimEnd('/') is { Length: > 0 } path ? path : "/";
        }

        return options;
    }

    private static Dictionary<string, string> ParsePairs(string text, string option)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"{option}: '{pair}' is not key=value");
            }

            pairs[pair[..equals]] = pair[(equals + 1)..];
        }

        return pairs;
    }
}
