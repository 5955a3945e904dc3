using Dataflow.Core;

namespace Dataflow.Planner;

/// <summary>Plans a reduce tree: one stage per level, each task reducing a consecutive, balanced group of the level below.</summary>
internal static class ReduceTreePlanner
{
    /// <summary>The name of every tree task's single output.</summary>
    public const string OutputName = "out";

    private static readonly string[] s_outputs = [OutputName];

    public static IReadOnlyList<PlanStage> PlanStages(string jobName, ReduceTree tree, IReadOnlyList<string> inputKeys)
    {
        var widths = TreeShape.LevelWidths(jobName, tree.Shape, inputKeys.Count);
        var stages = new PlanStage[widths.Count];
        var below = new ArtifactRef[inputKeys.Count];
        for (var i = 0; i < below.Length; i++)
        {
            below[i] = ArtifactRef.JobInput(inputKeys[i]);
        }

        for (var level = 0; level < widths.Count; level++)
        {
            var starts = TreeShape.BalancedStarts(below.Length, widths[level]);
            var tasks = new PlanTask[widths[level]];
            var produced = new ArtifactRef[tasks.Length];
            for (var t = 0; t < tasks.Length; t++)
            {
                var inputs = below[starts[t]..starts[t + 1]];
                tasks[t] = new PlanTask
                {
                    // The last level's one task writes the job's output: it runs the tree's final operator.
                    Operator = level == widths.Count - 1 ? tree.FinalOperator.Name : tree.Operator.Name,
                    Inputs = inputs,
                    Outputs = s_outputs,
                    DependsOn = level == 0 ? [] : Producers(inputs),
                };
                produced[t] = ArtifactRef.TaskOutput(new TaskId(level, t), OutputName);
            }

            stages[level] = new PlanStage { Name = $"level-{level + 1}", Tasks = tasks };
            below = produced;
        }

        return stages;
    }

    // Each task of the level below produces one output, so the producers of consecutive inputs are distinct: no set
    // is needed to list them once each (a million tasks' worth of sets was most of what planning allocated).
    private static TaskId[] Producers(ArtifactRef[] inputs)
    {
        var producers = new TaskId[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            producers[i] = inputs[i].Task!.Value;
        }

        return producers;
    }
}
