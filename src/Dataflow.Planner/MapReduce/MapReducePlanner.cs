using Dataflow.Core;

namespace Dataflow.Planner;

/// <summary>
/// Plans a map-reduce step: a map stage over splits of the inputs, a reduce stage of one task per partition, and
/// optionally a merge of the parts into one object.
/// </summary>
internal static class MapReducePlanner
{
    public const string ReduceOutput = "out";

    public static (IReadOnlyList<PlanStage> Stages, IReadOnlyList<PlanOutput> Outputs) Plan(Job job, MapReduceStep step, IReadOnlyList<PlanInput> inputs)
    {
        var splits = Splits(step, inputs);
        var partitions = Enumerable.Range(0, step.Reducers).Select(MapReduceStep.PartitionName).ToArray();
        var map = new PlanStage
        {
            Name = "map",
            Tasks = splits.Select(split => new PlanTask { Operator = step.Map.Name, Inputs = split, Outputs = partitions, DependsOn = [] }).ToArray(),
        };

        // Every reducer reads its partition from every map task: the shuffle is the one place where a task waits for a whole stage.
        var mapTasks = Enumerable.Range(0, map.Tasks.Count).Select(i => new TaskId(0, i)).ToArray();
        var reduce = new PlanStage
        {
            Name = "reduce",
            Tasks = partitions.Select(partition => new PlanTask
            {
                Operator = step.Reduce.Name,
                Inputs = mapTasks.Select(t => ArtifactRef.TaskOutput(t, partition)).ToArray(),
                Outputs = [ReduceOutput],
                DependsOn = mapTasks,
            }).ToArray(),
        };

        if (step.MergedOutputKey is { } merged)
        {
            var reducers = Enumerable.Range(0, step.Reducers).Select(r => new TaskId(1, r)).ToArray();
            var merge = new PlanStage
            {
                Name = "merge",
                Tasks =
                [
                    new PlanTask
                    {
                        Operator = job.ResolveOperator("concat").Name,
                        Inputs = reducers.Select(t => ArtifactRef.TaskOutput(t, ReduceOutput)).ToArray(),
                        Outputs = [ReduceOutput],
                        DependsOn = reducers,
                    },
                ],
            };
            return ([map, reduce, merge], [new PlanOutput(merged, new TaskId(2, 0), ReduceOutput)]);
        }

        var outputs = Enumerable.Range(0, step.Reducers)
            .Select(r => new PlanOutput(MapReduceStep.PartKey(job.OutputKey, r), new TaskId(1, r), ReduceOutput))
            .ToArray();
        return ([map, reduce], outputs);
    }

    /// <summary>
    /// Groups small objects, in order, up to the split size (or the object limit) per map task, and cuts larger ones
    /// into ranges of the split size, one per task. As Hadoop does, a range may be up to 10% longer than the split
    /// size rather than leave a short tail (an object of 1.05 splits is one task, not two). Compressed objects are
    /// never cut.
    /// </summary>
    internal static List<ArtifactRef[]> Splits(MapReduceStep step, IReadOnlyList<PlanInput> inputs)
    {
        var splits = new List<ArtifactRef[]>();
        var group = new List<ArtifactRef>();
        long groupBytes = 0;

        void Flush()
        {
            if (group.Count > 0)
            {
                splits.Add([.. group]);
                group.Clear();
                groupBytes = 0;
            }
        }

        foreach (var input in inputs)
        {
            if (input.Size > MaxSplit(step) && !InputSplit.IsCompressed(input.Key))
            {
                Flush();
                long offset = 0;
                while (input.Size - offset > MaxSplit(step))
                {
                    splits.Add([ArtifactRef.JobInputRange(input.Key, offset, step.SplitSize)]);
                    offset += step.SplitSize;
                }

                splits.Add([ArtifactRef.JobInputRange(input.Key, offset, input.Size - offset)]);
                continue;
            }

            if (group.Count > 0 && (groupBytes + input.Size > step.SplitSize || group.Count == step.MaxObjectsPerSplit))
            {
                Flush();
            }

            group.Add(ArtifactRef.JobInput(input.Key));
            groupBytes += input.Size;
        }

        Flush();
        return splits;
    }

    /// <summary>The longest range a split may be: the split size plus 10%.</summary>
    private static long MaxSplit(MapReduceStep step) => step.SplitSize + (step.SplitSize / 10);
}
