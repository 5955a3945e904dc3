using Dataflow.Plans;

namespace Dataflow.Planning.Kubernetes;

/// <summary>How one stage of a plan runs in pods: tasks per pod, pods, and the stage's settings.</summary>
/// <param name="Stage">The stage index.</param>
/// <param name="Name">The stage's name in the plan.</param>
/// <param name="Tasks">The stage's task count.</param>
/// <param name="TasksPerPod">The tasks each pod runs (the worker's <c>--shard-size</c>).</param>
/// <param name="Pods">The stage's pods: ⌈Tasks / TasksPerPod⌉.</param>
/// <param name="Parallelism">The most pods running at once, at most <paramref name="Pods"/>.</param>
/// <param name="RetryLimit">The retries of each pod.</param>
/// <param name="Resources">The container's resources, if any.</param>
internal sealed record StageLayout(int Stage, string Name, int Tasks, int TasksPerPod, int Pods, int Parallelism, int RetryLimit, PodResources? Resources)
{
    /// <summary>The layout of every stage of <paramref name="plan"/> under <paramref name="options"/> (validated before).</summary>
    public static IReadOnlyList<StageLayout> Of(Plan plan, PodOptions options)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        if (plan.Stages.Count == 0)
        {
            throw new ArgumentException($"the plan of job '{plan.Job}' has no stages", nameof(plan));
        }

        var layouts = new StageLayout[plan.Stages.Count];
        for (var s = 0; s < layouts.Length; s++)
        {
            var stage = plan.Stages[s];
            var n = stage.Tasks.Count;
            if (n == 0)
            {
                throw new ArgumentException($"stage {s} ({stage.Name}) of job '{plan.Job}' has no tasks", nameof(plan));
            }

            var perPod = options.TasksPerPod ?? CeilingDivide(n, options.MaxPodsPerStage);
            var pods = CeilingDivide(n, perPod);
            var stageOverride = options.StageOverrides.GetValueOrDefault(s);
            var parallelism = Math.Min(pods, stageOverride?.Parallelism ?? options.Parallelism ?? pods);
            layouts[s] = new StageLayout(
                s,
                stage.Name,
                n,
                perPod,
                pods,
                parallelism,
                stageOverride?.RetryLimit ?? options.RetryLimit,
                stageOverride?.Resources ?? options.Resources);
        }

        return layouts;
    }

    private static int CeilingDivide(int n, int k) => (int)(((long)n + k - 1) / k);
}
