using System.CommandLine;
using System.Globalization;
using Dataflow.Core;
using Dataflow.Kubernetes;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// Running on Kubernetes: the pod options of <c>--executor kubernetes|argo</c>, and the <c>plan</c> command that
/// stores a plan and writes the manifests that run it (<c>--emit argo|k8s|json</c>).
/// </summary>
public sealed partial class DataflowApp
{
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

    /// <summary>The environment variables a pod may get in plain text: where the store is, never who may use it.</summary>
    private static readonly string[] s_podEnvironment = ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"];

    private AppOption[] ClusterOptions() =>
        [_image, _imageEntrypoint, _namespace, _kubeconfig, _kubeContext, _serviceAccount, _storeSecret, _volumeClaim, _tasksPerPod, _podParallelism, _podRetries, _podCpu, _podMemory, _pullPolicy, _nodeSelector, _deadline];

    /// <summary>
    /// The pods' options from the command line, for a run in <paramref name="store"/>, in <paramref name="namespace"/>
    /// (<see langword="null"/>: the manifests name none, and <c>kubectl -n</c> or <c>argo submit -n</c> chooses).
    /// </summary>
    /// <exception cref="FormatException">An option is missing or wrong for the store; the message names it.</exception>
    private PodOptions CreatePodOptions(RunContext context, IObjectStore store, string? @namespace)
    {
        var image = context.Get(_image) ?? throw new FormatException("running on Kubernetes needs --image: the container image of this program");
        var options = new PodOptions
        {
            Image = image,
            ImagePullPolicy = context.Get(_pullPolicy),
            Command = [context.Get(_imageEntrypoint) ?? $"/app/{Name}"],
            ExtraArguments = context.GivenArguments([_s3Profile, _s3PartSize, _verbose]),
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

    /// <summary>The cluster executor for <paramref name="kind"/>, with a client from the kubeconfig options.</summary>
    /// <exception cref="FormatException">An option is missing or wrong.</exception>
    /// <exception cref="InvalidOperationException">No Kubernetes configuration was found.</exception>
    private Executor CreateClusterExecutor(RunContext context, IObjectStore store, ExecutorKind kind)
    {
        var (client, configured) = KubernetesClients.Create(context.Get(_kubeconfig), context.Get(_kubeContext));
        var @namespace = context.Get(_namespace) ?? configured;
        var options = new KubernetesExecutorOptions
        {
            Pods = CreatePodOptions(context, store, @namespace),
            Client = client,
            Namespace = @namespace,
        };
        return kind == ExecutorKind.Argo ? new ArgoExecutor(options) : new KubernetesExecutor(options);
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

    private Command CreatePlanCommand(AppConsole console)
    {
        var emit = new AppOption<string>("--emit", "What to write: argo (an Argo Workflow, for 'argo submit'), k8s (Indexed Jobs, one per stage, then a publish Job, for 'kubectl create' in order) or json (the plan itself).", "argo", "argo|k8s|json", null, v => v is "argo" or "k8s" or "json" ? null : "must be argo, k8s or json");
        var output = new AppOption<string?>("--out", "Write the manifest to this file instead of stdout.", null, "FILE", null, null);
        var command = new Command("plan", "Plan the job, store the plan in the store (pods read it there), and write the manifest that runs it on Kubernetes: the job runs when you submit it. Takes the options of 'run'.");
        var options = AddOptions(command, _programOptions.Concat(AllOptions().Except(_programOptions)).Append(emit).Append(output));
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = CreateJobContext(parse, options, console, runId: null);
            Job job;
            try
            {
                job = _defineJob!(context);
            }
            catch (Exception ex) when (ex is JobDefinitionException or InvalidObjectKeyException)
            {
                return Usage(console, ex.Message);
            }

            if (context.Get(_store) is not { } location)
            {
                return Usage(console, "plan needs --store: the store the pods read (s3://…, oss://…, or a folder on a volume claim)");
            }

            var (store, exitCode) = await OpenStoreAsync(context, location, context.Get(_s3Profile), context.Get(_s3PartSize), "plan: ", cancellationToken).ConfigureAwait(false);
            if (store is null)
            {
                return exitCode;
            }

            await using (store.ConfigureAwait(false))
            {
                try
                {
                    var kind = context.Get(emit);
                    var pods = kind == "json" ? null : CreatePodOptions(context, store, context.Get(_namespace));
                    var runner = new JobRunner(store, new JobRunnerOptions
                    {
                        RunId = context.RunId,
                        Overwrite = context.Get(_overwrite),
                        Arguments = [.. context.GivenArguments(_programOptions), _input.Name, context.InputPrefix, _output.Name, context.OutputKey],
                    });
                    context.Store = store;
                    if (_beforeRun is not null)
                    {
                        // The program's own preparation (e.g. creating example inputs), as before a run.
                        await _beforeRun(context, cancellationToken).ConfigureAwait(false);
                    }

                    var plan = await runner.PlanAsync(job, cancellationToken).ConfigureAwait(false);
                    var planUri = PlanAddress.Format(store, plan.RunId);
                    var manifest = kind switch
                    {
                        "argo" => ClusterManifests.ArgoWorkflowYaml(plan, planUri, pods!),
                        "k8s" => ClusterManifests.IndexedJobsYaml(plan, planUri, pods!),
                        _ => PlanJson.Serialize(plan, indented: true) + Environment.NewLine,
                    };
                    if (context.Get(output) is { } file)
                    {
                        await File.WriteAllTextAsync(file, manifest, cancellationToken).ConfigureAwait(false);
                        context.Info(string.Create(CultureInfo.InvariantCulture, $"wrote {file} ({manifest.Length:N0} bytes)"));
                    }
                    else
                    {
                        await console.Out.WriteAsync(manifest).ConfigureAwait(false);
                    }

                    context.Info(string.Create(CultureInfo.InvariantCulture, $"run {plan.RunId}: {plan.TaskCount} tasks in {plan.Stages.Count} stages; plan stored at {planUri}"));
                    return ExitCodes.Success;
                }
                catch (Exception ex) when (ex is JobDefinitionException or InvalidObjectKeyException or FormatException or ArgumentException)
                {
                    return Usage(console, $"plan: {ex.Message}");
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    context.Info("plan: cancelled");
                    return ExitCodes.Cancelled;
                }
                catch (Exception ex)
                {
                    context.Info($"plan: error: {(context.Get(_verbose) ? ex.ToString() : ex.Message)}");
                    return ExitCodes.Failure;
                }
            }
        });
        return command;
    }
}
