using k8s;

namespace Dataflow.Kubernetes;

/// <summary>
/// Where and how the cluster executors (<see cref="KubernetesExecutor"/>: one Indexed Job per stage;
/// <see cref="ArgoExecutor"/>: one Argo Workflow) run a job's pods.
/// </summary>
public sealed class KubernetesExecutorOptions
{
    /// <summary>The pods: image, command, resources, secrets, tasks per pod…</summary>
    public required PodOptions Pods { get; init; }

    /// <summary>The client of the cluster's API server; see <see cref="KubernetesClients.Create"/>.</summary>
    public required IKubernetes Client { get; init; }

    /// <summary>The namespace of the Jobs or Workflow. Default <c>default</c>.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>How long one watch request stays open before it is renewed (the server's <c>timeoutSeconds</c>). Default 5 minutes.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Pods);
        ArgumentNullException.ThrowIfNull(Client);
        ArgumentException.ThrowIfNullOrWhiteSpace(Namespace);
        if (WatchTimeout < TimeSpan.FromSeconds(1) || WatchTimeout > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(WatchTimeout), WatchTimeout, "the watch timeout must be between 1 second and 1 hour");
        }
    }
}
