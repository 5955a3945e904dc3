using Dataflow.Core;

namespace Dataflow.Kubernetes;

/// <summary>
/// The manifests that run a stored plan on Kubernetes without a driver, as YAML for <c>argo submit</c> or
/// <c>kubectl create</c> (what <c>plan --emit argo|k8s</c> writes). Their size depends on the number of stages, not of
/// tasks: pods are given only the plan's address and their shard.
/// </summary>
public static class ClusterManifests
{
    /// <summary>
    /// One Argo Workflow for the whole run: a steps template per stage fanned out with <c>withSequence</c>, a publish
    /// step, and an exit handler that cleans up and stores the run's summary.
    /// </summary>
    /// <param name="plan">The run's plan, already stored.</param>
    /// <param name="planUri">The stored plan's address (see <c>Dataflow.Worker.PlanAddress.Format</c>).</param>
    /// <param name="pods">The pods: image, command, resources, secrets, tasks per pod…</param>
    /// <exception cref="ArgumentException">An option does not fit the plan (e.g. an inline credential).</exception>
    public static string ArgoWorkflowYaml(Plan plan, string planUri, PodOptions pods) =>
        ManifestYaml.ToYaml(ArgoWorkflowEmitter.Emit(plan, planUri, pods));

    /// <summary>
    /// One Indexed Job per stage and then a publish Job, as a YAML list, to be created in order (each after the one
    /// before has completed).
    /// </summary>
    /// <param name="plan">The run's plan, already stored.</param>
    /// <param name="planUri">The stored plan's address.</param>
    /// <param name="pods">The pods.</param>
    /// <exception cref="ArgumentException">An option does not fit the plan.</exception>
    public static string IndexedJobsYaml(Plan plan, string planUri, PodOptions pods) =>
        ManifestYaml.ToYaml(KubernetesJobEmitter.EmitAll(plan, planUri, pods));
}
