using k8s;

namespace Dataflow.Kubernetes;

/// <summary>Creates clients of a cluster's API server the way <c>kubectl</c> finds it.</summary>
public static class KubernetesClients
{
    /// <summary>
    /// A client from <paramref name="kubeconfig"/> if given; else, inside a pod, from the pod's service account;
    /// else from <c>$KUBECONFIG</c> or <c>~/.kube/config</c>.
    /// </summary>
    /// <returns>The client and the namespace its configuration names (or <c>default</c>).</returns>
    /// <exception cref="InvalidOperationException">No configuration was found or it does not parse; the message says where it looked.</exception>
    public static (IKubernetes Client, string Namespace) Create(string? kubeconfig = null, string? context = null)
    {
        KubernetesClientConfiguration configuration;
        try
        {
            configuration = kubeconfig is not null
                ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig, context)
                : KubernetesClientConfiguration.IsInCluster() && context is null
                    ? KubernetesClientConfiguration.InClusterConfig()
                    : KubernetesClientConfiguration.BuildConfigFromConfigFile(currentContext: context);
        }
        catch (Exception ex) when (ex is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            var where = kubeconfig ?? Environment.GetEnvironmentVariable("KUBECONFIG") ?? "~/.kube/config";
            throw new InvalidOperationException($"no usable Kubernetes configuration (looked at {where}, and for a pod's service account): {ex.Message}", ex);
        }

        return (new k8s.Kubernetes(configuration), configuration.Namespace ?? "default");
    }
}
