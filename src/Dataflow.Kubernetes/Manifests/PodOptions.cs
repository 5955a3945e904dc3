using System.Text.RegularExpressions;

namespace Dataflow.Kubernetes;

/// <summary>
/// How the pods of a run are made, for the Argo workflow and Kubernetes Job emitters: the program image and command,
/// how many tasks a pod runs, retries, placement, and how a pod reaches the store. Simple ranges are checked when a
/// property is set; the emitters check the whole (required values, pairs that go together) before emitting.
/// </summary>
/// <remarks>
/// Credentials never appear in a manifest: they travel as references to Kubernetes Secrets
/// (<see cref="StoreSecretName"/>, <see cref="SecretEnvironment"/>); <see cref="Environment"/> refuses names that
/// hold credentials.
/// </remarks>
public sealed partial class PodOptions
{
    /// <summary>The most pods a stage may have in an Indexed Job (the cap Kubernetes puts on completions when <c>backoffLimitPerIndex</c> is set).</summary>
    public const int MaxPodsPerIndexedJob = 100_000;

    /// <summary>The default of <see cref="MaxPodsPerWorkflow"/>.</summary>
    public const int DefaultMaxPodsPerWorkflow = 4000;

    /// <summary>The default of <see cref="MaxPodsPerStage"/>.</summary>
    public const int DefaultMaxPodsPerStage = 2000;

    /// <summary>The time-to-live of a finished Kubernetes Job when <see cref="TtlSecondsAfterFinished"/> is not set: one day.</summary>
    public const int DefaultJobTtlSecondsAfterFinished = 86_400;

    private static readonly string[] s_retryPolicies = ["Always", "OnFailure", "OnError", "OnTransientError"];
    private static readonly string[] s_podGcStrategies = ["OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"];
    private static readonly string[] s_pullPolicies = ["Always", "IfNotPresent", "Never"];

    private IReadOnlyList<string> _command = [];
    private IReadOnlyList<string> _extraArguments = [];
    private IReadOnlyDictionary<string, string> _environment = new Dictionary<string, string>();
    private int? _tasksPerPod;
    private int _maxPodsPerStage = DefaultMaxPodsPerStage;
    private int? _maxPodsPerWorkflow = DefaultMaxPodsPerWorkflow;
    private int? _parallelism;
    private int _retryLimit = 3;
    private RetryBackoff _retryBackoff = RetryBackoff.Default;
    private string _retryPolicy = "Always";
    private string _podGcStrategy = "OnPodSuccess";
    private string _imagePullPolicy = "IfNotPresent";
    private long? _activeDeadlineSeconds;
    private int? _ttlSecondsAfterFinished;

    /// <summary>The image of the user's program, e.g. <c>registry.example/merge-files:1.2</c>. Required.</summary>
    public string Image { get; set; } = "";

    /// <summary>The image pull policy: <c>IfNotPresent</c> (default), <c>Always</c> or <c>Never</c>.</summary>
    /// <exception cref="ArgumentException">Not one of those.</exception>
    public string ImagePullPolicy
    {
        get => _imagePullPolicy;
        set => _imagePullPolicy = OneOf(value, s_pullPolicies, nameof(ImagePullPolicy));
    }

    /// <summary>
    /// The program and its leading arguments, e.g. <c>["/app/merge-files"]</c>: the first item is the container's
    /// <c>command</c>, the others lead its <c>args</c>. Required, non-empty.
    /// </summary>
    public IReadOnlyList<string> Command
    {
        get => _command;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _command = [.. value];
        }
    }

    /// <summary>Arguments added after the Dataflow arguments of every pod (e.g. the job's own options). Default: none.</summary>
    public IReadOnlyList<string> ExtraArguments
    {
        get => _extraArguments;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _extraArguments = [.. value];
        }
    }

    /// <summary>The namespace written into the manifests; <see langword="null"/> (default) leaves it to the client.</summary>
    public string? Namespace { get; set; }

    /// <summary>The service account of the pods (and of the Argo workflow); <see langword="null"/> (default) for the namespace's default.</summary>
    public string? ServiceAccountName { get; set; }

    /// <summary>Extra labels of the workflow or Jobs and of their pods. Keys under <c>dataflow.io/</c> are Dataflow's own and refused.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    /// <summary>
    /// The tasks each pod runs, for every stage; <see langword="null"/> (default) chooses per stage the fewest tasks per
    /// pod that keep the stage within <see cref="MaxPodsPerStage"/> pods: ⌈n / MaxPodsPerStage⌉ for a stage of n tasks.
    /// A value given here is used as it is, whatever the pod count it makes.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int? TasksPerPod
    {
        get => _tasksPerPod;
        set
        {
            if (value is { } v)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(v, 1, nameof(TasksPerPod));
            }

            _tasksPerPod = value;
        }
    }

    /// <summary>
    /// The most pods of one stage when <see cref="TasksPerPod"/> is automatic: default 2,000, at most
    /// <see cref="MaxPodsPerIndexedJob"/> (100,000).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1 or more than 100,000.</exception>
    public int MaxPodsPerStage
    {
        get => _maxPodsPerStage;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxPodsPerStage));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxPodsPerIndexedJob, nameof(MaxPodsPerStage));
            _maxPodsPerStage = value;
        }
    }

    /// <summary>
    /// For an Argo Workflow with <see cref="TasksPerPod"/> automatic: the most pods of all stages together, default
    /// 4,000 (<see cref="DefaultMaxPodsPerWorkflow"/>). Argo records about two nodes per pod (a retry node and the pod)
    /// in the Workflow's <c>status.nodes</c>, which etcd refuses somewhere past 10,000–20,000 nodes; when the stages
    /// would need more pods, the largest stages get fewer pods, each running more tasks. <see langword="null"/> for no limit.
    /// Indexed Jobs are not limited by it: each is an object of its own, and its status does not list pods.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int? MaxPodsPerWorkflow
    {
        get => _maxPodsPerWorkflow;
        set => _maxPodsPerWorkflow = Positive(value, nameof(MaxPodsPerWorkflow));
    }

    /// <summary>The most pods of a stage running at once; <see langword="null"/> (default) for all of the stage's pods.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int? Parallelism
    {
        get => _parallelism;
        set => _parallelism = Positive(value, nameof(Parallelism));
    }

    /// <summary>The retries of each pod after its first attempt: default 3. A pod that exits with code 2 (usage error) is never retried.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public int RetryLimit
    {
        get => _retryLimit;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(RetryLimit));
            _retryLimit = value;
        }
    }

    /// <summary>The back-off between attempts in an Argo workflow: default 5 s, doubling, at most 5 min.</summary>
    public RetryBackoff RetryBackoff
    {
        get => _retryBackoff;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _retryBackoff = value;
        }
    }

    /// <summary>Argo's retry policy: <c>Always</c> (default), <c>OnFailure</c>, <c>OnError</c> or <c>OnTransientError</c>.</summary>
    /// <exception cref="ArgumentException">Not one of those.</exception>
    public string RetryPolicy
    {
        get => _retryPolicy;
        set => _retryPolicy = OneOf(value, s_retryPolicies, nameof(RetryPolicy));
    }

    /// <summary>The container's CPU and memory requests and limits; <see langword="null"/> (default) for none.</summary>
    public PodResources? Resources { get; set; }

    /// <summary>The node selector of the pods. Default: none.</summary>
    public IReadOnlyDictionary<string, string> NodeSelector { get; set; } = new Dictionary<string, string>();

    /// <summary>The tolerations of the pods. Default: none.</summary>
    public IReadOnlyList<PodToleration> Tolerations { get; set; } = [];

    /// <summary>
    /// The Secret whose keys become the pods' environment variables (<c>envFrom.secretRef</c>), e.g. holding
    /// <c>AWS_ACCESS_KEY_ID</c> and <c>AWS_SECRET_ACCESS_KEY</c>; <see langword="null"/> (default) for none.
    /// </summary>
    public string? StoreSecretName { get; set; }

    /// <summary>
    /// Environment variables that hold no credentials, e.g. <c>AWS_ENDPOINT_URL</c> or <c>AWS_REGION</c>. Default: none.
    /// </summary>
    /// <exception cref="ArgumentException">A name is not a valid variable name or holds credentials
    /// (<c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c>, <c>AWS_SESSION_TOKEN</c>, or any name containing
    /// <c>SECRET</c>, <c>PASSWORD</c> or <c>TOKEN</c>): credentials travel only as Secret references.</exception>
    public IReadOnlyDictionary<string, string> Environment
    {
        get => _environment;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            var copy = new Dictionary<string, string>(value, StringComparer.Ordinal);
            CheckEnvironment(copy, nameof(value));
            _environment = copy;
        }
    }

    /// <summary>Environment variables taken from keys of Secrets (<c>valueFrom.secretKeyRef</c>). Default: none.</summary>
    public IReadOnlyDictionary<string, SecretKeyReference> SecretEnvironment { get; set; } = new Dictionary<string, SecretKeyReference>();

    /// <summary>The PersistentVolumeClaim of a folder store, mounted by every pod at <see cref="MountPath"/>; <see langword="null"/> (default) for none.</summary>
    public string? VolumeClaimName { get; set; }

    /// <summary>Where the pods mount <see cref="VolumeClaimName"/>, an absolute path such as <c>/data</c>; required with it.</summary>
    public string? MountPath { get; set; }

    /// <summary>Argo's pod garbage collection: <c>OnPodSuccess</c> (default), <c>OnPodCompletion</c>, <c>OnWorkflowCompletion</c> or <c>OnWorkflowSuccess</c>.</summary>
    /// <exception cref="ArgumentException">Not one of those.</exception>
    public string PodGcStrategy
    {
        get => _podGcStrategy;
        set => _podGcStrategy = OneOf(value, s_podGcStrategies, nameof(PodGcStrategy));
    }

    /// <summary>The most seconds the workflow (or each Job) may run; <see langword="null"/> (default) for no limit.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public long? ActiveDeadlineSeconds
    {
        get => _activeDeadlineSeconds;
        set
        {
            if (value is { } v)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(v, 1, nameof(ActiveDeadlineSeconds));
            }

            _activeDeadlineSeconds = value;
        }
    }

    /// <summary>
    /// Seconds a finished workflow or Job is kept. <see langword="null"/> (default): Jobs get
    /// <see cref="DefaultJobTtlSecondsAfterFinished"/> (one day); an Argo workflow gets no <c>ttlStrategy</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public int? TtlSecondsAfterFinished
    {
        get => _ttlSecondsAfterFinished;
        set
        {
            if (value is { } v)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(v, nameof(TtlSecondsAfterFinished));
            }

            _ttlSecondsAfterFinished = value;
        }
    }

    /// <summary>Settings of single stages, keyed by stage index (0 for the first stage). Default: none.</summary>
    public IReadOnlyDictionary<int, StageOverride> StageOverrides { get; set; } = new Dictionary<int, StageOverride>();

    /// <summary>Checks the options as a whole, before an emitter uses them.</summary>
    /// <exception cref="ArgumentException">A required value is missing or a value is invalid; the message names it.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Image))
        {
            throw Invalid("Image is required");
        }

        if (Command.Count == 0 || string.IsNullOrWhiteSpace(Command[0]))
        {
            throw Invalid("Command is required: the program of the image, e.g. [\"/app/merge-files\"]");
        }

        if ((VolumeClaimName is null) != (MountPath is null))
        {
            throw Invalid("VolumeClaimName and MountPath go together: set both or neither");
        }

        if (MountPath is not null && !MountPath.StartsWith('/'))
        {
            throw Invalid($"MountPath '{MountPath}' must be an absolute path");
        }

        CheckEnvironment(Environment, "options");
        foreach (var (name, reference) in SecretEnvironment)
        {
            CheckVariableName(name, "options");
            if (reference is null || string.IsNullOrEmpty(reference.SecretName) || string.IsNullOrEmpty(reference.Key))
            {
                throw Invalid($"SecretEnvironment '{name}' needs a Secret name and a key");
            }

            if (Environment.ContainsKey(name))
            {
                throw Invalid($"environment variable '{name}' is set both in Environment and in SecretEnvironment");
            }
        }

        foreach (var (key, value) in Labels)
        {
            if (key.StartsWith("dataflow.io/", StringComparison.Ordinal))
            {
                throw Invalid($"label '{key}' is Dataflow's own");
            }

            if (!LabelKeyPattern().IsMatch(key) || !KubernetesNames.IsLabelValue(value))
            {
                throw Invalid($"label '{key}: {value}' is not a valid Kubernetes label");
            }
        }

        foreach (var (stage, stageOverride) in StageOverrides)
        {
            if (stageOverride is null)
            {
                throw Invalid($"StageOverrides[{stage}] is null");
            }

            if (stageOverride.Parallelism < 1 || stageOverride.RetryLimit < 0)
            {
                throw Invalid($"StageOverrides[{stage}]: Parallelism must be at least 1 and RetryLimit not negative");
            }
        }
    }

    /// <summary>Whether an environment variable name holds credentials, which must travel only as Secret references.</summary>
    internal static bool IsCredentialName(string name) =>
        name.Equals("AWS_ACCESS_KEY_ID", StringComparison.OrdinalIgnoreCase)
        || name.Contains("SECRET", StringComparison.OrdinalIgnoreCase)
        || name.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase)
        || name.Contains("TOKEN", StringComparison.OrdinalIgnoreCase);

    private static void CheckEnvironment(IReadOnlyDictionary<string, string> environment, string paramName)
    {
        foreach (var (name, value) in environment)
        {
            CheckVariableName(name, paramName);
            if (IsCredentialName(name))
            {
                throw new ArgumentException(
                    $"environment variable '{name}' holds credentials: put it in a Secret (StoreSecretName or SecretEnvironment), never inline",
                    paramName);
            }

            if (value is null)
            {
                throw new ArgumentException($"environment variable '{name}' has no value", paramName);
            }
        }
    }

    private static void CheckVariableName(string name, string paramName)
    {
        if (string.IsNullOrEmpty(name) || !VariableNamePattern().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a valid environment variable name", paramName);
        }
    }

    private static int? Positive(int? value, string name)
    {
        if (value is { } v)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(v, 1, name);
        }

        return value;
    }

    private static string OneOf(string value, string[] allowed, string name)
    {
        ArgumentNullException.ThrowIfNull(value, name);
        return Array.IndexOf(allowed, value) >= 0
            ? value
            : throw new ArgumentException($"{name} '{value}' is not one of {string.Join(", ", allowed)}", name);
    }

    private static ArgumentException Invalid(string message) => new($"invalid pod options: {message}");

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial Regex VariableNamePattern();

    [GeneratedRegex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex LabelKeyPattern();
}
