using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>A plan's tasks as a dependency graph over flat indexes (stage by stage), for the scheduler.</summary>
internal sealed class DagGraph
{
    private readonly int[] _stageOffsets;

    private DagGraph(int[] stageOffsets, int[] dependencyCounts, int[][] dependents)
    {
        _stageOffsets = stageOffsets;
        DependencyCounts = dependencyCounts;
        Dependents = dependents;
    }

    /// <summary>The number of tasks.</summary>
    public int Count => DependencyCounts.Length;

    /// <summary>How many tasks each task waits for.</summary>
    public int[] DependencyCounts { get; }

    /// <summary>The tasks that wait for each task.</summary>
    public int[][] Dependents { get; }

    public static DagGraph FromPlan(Plan plan)
    {
        var offsets = new int[plan.Stages.Count + 1];
        for (var s = 0; s < plan.Stages.Count; s++)
        {
            offsets[s + 1] = offsets[s] + plan.Stages[s].Tasks.Count;
        }

        var count = offsets[^1];
        var dependencyCounts = new int[count];
        var dependentCounts = new int[count];
        for (var s = 0; s < plan.Stages.Count; s++)
        {
            var tasks = plan.Stages[s].Tasks;
            for (var t = 0; t < tasks.Count; t++)
            {
                dependencyCounts[offsets[s] + t] = tasks[t].DependsOn.Count;
                foreach (var dependency in tasks[t].DependsOn)
                {
                    dependentCounts[offsets[dependency.Stage] + dependency.Index]++;
                }
            }
        }

        var dependents = new int[count][];
        for (var i = 0; i < count; i++)
        {
            dependents[i] = dependentCounts[i] == 0 ? [] : new int[dependentCounts[i]];
            dependentCounts[i] = 0;
        }

        for (var s = 0; s < plan.Stages.Count; s++)
        {
            var tasks = plan.Stages[s].Tasks;
            for (var t = 0; t < tasks.Count; t++)
            {
                foreach (var dependency in tasks[t].DependsOn)
                {
                    var d = offsets[dependency.Stage] + dependency.Index;
                    dependents[d][dependentCounts[d]++] = offsets[s] + t;
                }
            }
        }

        return new DagGraph(offsets, dependencyCounts, dependents);
    }

    /// <summary>A graph given directly (for tests and benchmarks): <paramref name="dependencies"/>[i] lists what task i waits for.</summary>
    public static DagGraph FromDependencies(IReadOnlyList<int[]> dependencies)
    {
        var count = dependencies.Count;
        var lists = new List<int>[count];
        var dependencyCounts = new int[count];
        for (var i = 0; i < count; i++)
        {
            dependencyCounts[i] = dependencies[i].Length;
            foreach (var d in dependencies[i])
            {
                (lists[d] ??= []).Add(i);
            }
        }

        return new DagGraph([0, count], dependencyCounts, lists.Select(l => l?.ToArray() ?? []).ToArray());
    }

    /// <summary>The flat index of a task.</summary>
    public int IndexOf(TaskId id) => _stageOffsets[id.Stage] + id.Index;

    /// <summary>The task at a flat index.</summary>
    public TaskId IdOf(int index)
    {
        // Plans have no empty stages, so offsets strictly increase and a hit is the first task of its stage.
        var stage = Array.BinarySearch(_stageOffsets, index);
        if (stage < 0)
        {
            stage = ~stage - 1;
        }

        return new TaskId(stage, index - _stageOffsets[stage]);
    }
}
