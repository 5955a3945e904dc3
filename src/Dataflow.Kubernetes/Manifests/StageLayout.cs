using Dataflow.Core;

namespace Dataflow.Kubernetes;

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
    /// <param name="plan">The plan.</param>
    /// <param name="options">The pods' options.</param>
    /// <param name="maxPodsInAll">With automatic tasks per pod, the most pods of all stages together (see <see cref="PodOptions.MaxPodsPerWorkflow"/>); <see langword="null"/> for no limit.</param>
    public static IReadOnlyList<StageLayout> Of(Plan plan, PodOptions options, int? maxPodsInAll = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        if (plan.Stages.Count == 0)
        {
            throw new ArgumentException($"the plan of job '{plan.Job}' has no stages", nameof(plan));
        }

        var cap = PodCap(plan, options.MaxPodsPerStage, maxPodsInAll);
        var layouts = new StageLayout[plan.Stages.Count];
        for (var s = 0; s < layouts.Length; s++)
        {
            var stage = plan.Stages[s];
            var n = stage.Tasks.Count;
            if (n == 0)
            {
                throw new ArgumentException($"stage {s} ({stage.Name}) of job '{plan.Job}' has no tasks", nameof(plan));
            }

            var perPod = options.TasksPerPod ?? CeilingDivide(n, cap);
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

    /// <summary>
    /// The most pods of any one stage: <paramref name="perStage"/>, or less when the stages together would need more
    /// than <paramref name="inAll"/>: the largest cap c with Σ min(tasks, c) ≤ inAll (at least 1), so small stages
    /// keep a pod per task and only the large ones are cut.
    /// </summary>
    private static int PodCap(Plan plan, int perStage, int? inAll)
    {
        long Pods(int cap) => plan.Stages.Sum(s => (long)Math.Min(s.Tasks.Count, cap));
        if (inAll is not { } budget || Pods(perStage) <= budget)
        {
            return perStage;
        }

        var (low, high) = (1, perStage);
        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            (low, high) = Pods(middle) <= budget ? (middle, high) : (low, middle - 1);
        }

        return low;
    }

    private static int CeilingDivide(int n, int k) => (int)(((long)n + k - 1) / k);
}
