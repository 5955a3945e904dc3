using System.Globalization;

namespace Dataflow.Planner.Tests.MapReduce;

/// <summary>Checks every property a map-reduce plan must have. Failures name the case (<c>where</c>) and the task.</summary>
internal static class MapReducePlanChecker
{
    public static void Check(Plan plan, Job job, string where)
    {
        void Fail(string problem) => Assert.Fail($"{where}: {problem}");

        var step = job.MapReduce!;
        var merged = step.MergedOutputKey is not null;
        if (plan.Job != job.Name || !plan.Stages.Select(s => s.Name).SequenceEqual(merged ? ["map", "reduce", "merge"] : ["map", "reduce"]))
        {
            Fail($"job '{plan.Job}' with stages [{string.Join(", ", plan.Stages.Select(s => s.Name))}]");
        }

        PlanValidator.Validate(plan, job);
        CheckMapStage(plan, step, Fail);

        var partitions = Enumerable.Range(0, step.Reducers).Select(r => string.Create(CultureInfo.InvariantCulture, $"p{r:D5}")).ToArray();
        var mapTasks = Enumerable.Range(0, plan.Stages[0].Tasks.Count).Select(i => new TaskId(0, i)).ToArray();
        foreach (var (task, t) in plan.Stages[0].Tasks.Select((task, t) => (task, t)))
        {
            if (task.Operator != step.Map.Name || !task.Outputs.SequenceEqual(partitions) || task.DependsOn.Count != 0)
            {
                Fail($"map task {t} runs '{task.Operator}' with outputs [{string.Join(", ", task.Outputs)}] after [{string.Join(", ", task.DependsOn)}]");
            }
        }

        // Every reducer reads its own partition from every map task, in map-task order, and depends on all of them.
        var reduce = plan.Stages[1].Tasks;
        if (reduce.Count != step.Reducers)
        {
            Fail($"{reduce.Count} reduce tasks for {step.Reducers} reducers");
        }

        for (var r = 0; r < reduce.Count; r++)
        {
            var task = reduce[r];
            if (task.Operator != step.Reduce.Name
                || !task.Outputs.SequenceEqual(["out"])
                || !task.DependsOn.SequenceEqual(mapTasks)
                || !task.Inputs.SequenceEqual(mapTasks.Select(m => ArtifactRef.TaskOutput(m, partitions[r]))))
            {
                Fail($"reduce task {r} runs '{task.Operator}' over [{string.Join(", ", task.Inputs)}] after [{string.Join(", ", task.DependsOn)}]");
            }
        }

        var reducers = Enumerable.Range(0, step.Reducers).Select(r => new TaskId(1, r)).ToArray();
        if (merged)
        {
            var merge = plan.Stages[2].Tasks;
            if (merge.Count != 1
                || merge[0].Operator != "concat"
                || !merge[0].DependsOn.SequenceEqual(reducers)
                || !merge[0].Inputs.SequenceEqual(reducers.Select(t => ArtifactRef.TaskOutput(t, "out"))))
            {
                Fail("the merge stage is not one concat task over every part in order");
            }

            if (!plan.Outputs.SequenceEqual([new PlanOutput(step.MergedOutputKey!, new TaskId(2, 0), "out")]))
            {
                Fail($"outputs [{string.Join(", ", plan.Outputs)}], expected only the merged object");
            }
        }
        else if (!plan.Outputs.SequenceEqual(reducers.Select(t => new PlanOutput(string.Create(CultureInfo.InvariantCulture, $"{job.OutputKey}part-{t.Index:D5}"), t, "out"))))
        {
            Fail($"outputs [{string.Join(", ", plan.Outputs)}], expected part-00000… from each reducer");
        }
    }

    /// <summary>Objects that map tasks decompress, and so must read whole.</summary>
    private static bool IsCompressed(string key) =>
        key.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || key.EndsWith(".zst", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The map tasks' inputs, in order, are the plan's inputs in order: each object either whole (grouped with its
    /// neighbours up to the split size and object limit, and only when it is no larger than a split or compressed),
    /// or cut into ranges of the split size — one per task — that tile it exactly, the last one up to 10% longer
    /// rather than leave a short tail (Hadoop's slop).
    /// </summary>
    private static long MaxSplit(MapReduceStep step) => step.SplitSize + (step.SplitSize / 10);

    private static void CheckMapStage(Plan plan, MapReduceStep step, Action<string> fail)
    {
        var tasks = plan.Stages[0].Tasks;
        var sizes = plan.Inputs.ToDictionary(i => i.Key, i => i.Size, StringComparer.Ordinal);
        var next = 0; // the next plan input expected
        long covered = 0; // bytes of plan.Inputs[next] covered by ranges so far
        for (var t = 0; t < tasks.Count; t++)
        {
            var inputs = tasks[t].Inputs;
            if (inputs.Count == 0)
            {
                fail($"map task {t} reads nothing");
            }

            if (inputs[0].Offset is not null)
            {
                var range = inputs[0];
                var input = plan.Inputs[next];
                if (inputs.Count != 1 || range.Key != input.Key || range.Offset != covered)
                {
                    fail($"map task {t} reads [{string.Join(", ", inputs)}]; expected one range of '{input.Key}' from {covered}");
                }

                if (input.Size <= MaxSplit(step) || IsCompressed(input.Key))
                {
                    fail($"map task {t} reads a range of '{input.Key}' ({input.Size} bytes), which should be read whole");
                }

                var expectedLength = input.Size - covered > MaxSplit(step) ? step.SplitSize : input.Size - covered;
                if (range.Length != expectedLength)
                {
                    fail($"map task {t} reads {range.Length} bytes of '{input.Key}' from {covered}; expected {expectedLength}");
                }

                covered += range.Length!.Value;
                if (covered == input.Size)
                {
                    (next, covered) = (next + 1, 0);
                }

                continue;
            }

            if (covered != 0)
            {
                fail($"'{plan.Inputs[next].Key}' is covered up to byte {covered} of {plan.Inputs[next].Size} only");
            }

            long bytes = 0;
            foreach (var whole in inputs)
            {
                var input = next < plan.Inputs.Count ? plan.Inputs[next] : null;
                if (whole.Offset is not null || input is null || whole.Key != input.Key)
                {
                    fail($"map task {t} reads {whole}; expected the whole of input {next} '{input?.Key}'");
                }

                if (input!.Size > MaxSplit(step) && !IsCompressed(input.Key))
                {
                    fail($"map task {t} reads '{input.Key}' ({input.Size} bytes) whole; it should be cut");
                }

                bytes += sizes[input.Key];
                next++;
            }

            if (inputs.Count > step.MaxObjectsPerSplit || (inputs.Count > 1 && bytes > step.SplitSize))
            {
                fail($"map task {t} reads {inputs.Count} objects of {bytes} bytes in all");
            }

            // Groups are as large as allowed: the next object (if read whole) would not have fitted.
            if (t + 1 < tasks.Count && tasks[t + 1].Inputs[0].Offset is null
                && inputs.Count < step.MaxObjectsPerSplit && bytes + sizes[tasks[t + 1].Inputs[0].Key!] <= step.SplitSize)
            {
                fail($"map task {t} ({inputs.Count} objects, {bytes} bytes) could have taken '{tasks[t + 1].Inputs[0].Key}' too");
            }
        }

        if (next != plan.Inputs.Count || covered != 0)
        {
            fail($"the map tasks read {next} of {plan.Inputs.Count} inputs");
        }
    }
}
