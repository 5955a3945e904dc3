namespace Dataflow.Planner.Tests.Trees;

/// <summary>Checks every property a reduce-tree plan must have. Failures name the case (<c>where</c>) and the task.</summary>
internal static class TreeChecker
{
    public const string OutputName = "out";

    /// <summary>Input objects with distinct keys that are deliberately not in key order, so that order must come from the list.</summary>
    public static PlanInput[] Inputs(int count, int seed = 1) => TestInputs.Shuffled(count, seed);

    public static void Check(Plan plan, Job job, IReadOnlyList<PlanInput> inputs, IReadOnlyList<int> expectedWidths, string where)
    {
        void Fail(string problem) => Assert.Fail($"{where}: {problem}");

        if (plan.Job != job.Name || plan.SchemaVersion != Plan.CurrentSchemaVersion || plan.DataflowVersion != DataflowInfo.Version)
        {
            Fail($"plan header job '{plan.Job}', schema {plan.SchemaVersion}, version '{plan.DataflowVersion}'");
        }

        if (!plan.Inputs.SequenceEqual(inputs))
        {
            Fail("the plan's inputs are not the given inputs in the given order");
        }

        // Shape: one stage per level, named level-N, with the expected widths; the last has one task.
        if (plan.Stages.Count != expectedWidths.Count)
        {
            Fail($"{plan.Stages.Count} stages, expected {expectedWidths.Count}");
        }

        for (var s = 0; s < plan.Stages.Count; s++)
        {
            if (plan.Stages[s].Name != $"level-{s + 1}" || plan.Stages[s].Tasks.Count != expectedWidths[s])
            {
                Fail($"stage {s} is '{plan.Stages[s].Name}' with {plan.Stages[s].Tasks.Count} tasks, expected 'level-{s + 1}' with {expectedWidths[s]}");
            }
        }

        var last = plan.Stages.Count - 1;
        if (plan.Stages[last].Tasks.Count != 1)
        {
            Fail($"the last stage has {plan.Stages[last].Tasks.Count} tasks");
        }

        if (plan.Outputs.Count != 1 || plan.Outputs[0] != new PlanOutput(job.OutputKey, new TaskId(last, 0), OutputName))
        {
            Fail($"final outputs [{string.Join(", ", plan.Outputs)}], expected the last stage's only task");
        }

        // Level by level: each level's tasks, in order, read exactly the artifacts of the level below, in order, in
        // contiguous groups whose sizes differ by at most one; and each task depends on exactly its producers.
        var below = inputs.Select(i => ArtifactRef.JobInput(i.Key)).ToArray();
        for (var s = 0; s < plan.Stages.Count; s++)
        {
            var tasks = plan.Stages[s].Tasks;
            var position = 0;
            int min = int.MaxValue, max = 0;
            for (var t = 0; t < tasks.Count; t++)
            {
                var id = new TaskId(s, t);
                var task = tasks[t];
                if (task.Operator != job.Tree!.Operator.Name || task.Outputs.Count != 1 || task.Outputs[0] != OutputName)
                {
                    Fail($"task {id} runs '{task.Operator}' with outputs [{string.Join(", ", task.Outputs)}]");
                }

                min = Math.Min(min, task.Inputs.Count);
                max = Math.Max(max, task.Inputs.Count);
                foreach (var input in task.Inputs)
                {
                    if (position >= below.Length || input != below[position])
                    {
                        Fail($"task {id} reads {input}, expected {(position < below.Length ? below[position].ToString() : "nothing more")}: groups are not contiguous and in order");
                    }

                    position++;
                }

                var producers = task.Inputs.Where(i => !i.IsJobInput).Select(i => i.Task!.Value).ToHashSet();
                if (s == 0 && task.DependsOn.Count != 0)
                {
                    Fail($"task {id} of the first level depends on [{string.Join(", ", task.DependsOn)}]");
                }

                if (task.DependsOn.Count != producers.Count || !producers.SetEquals(task.DependsOn))
                {
                    Fail($"task {id} depends on [{string.Join(", ", task.DependsOn)}], but its producers are [{string.Join(", ", producers)}]");
                }
            }

            if (position != below.Length)
            {
                Fail($"stage {s} reads {position} of the {below.Length} artifacts below it");
            }

            if (min < 1 || max - min > 1)
            {
                Fail($"stage {s} has groups of {min} to {max} inputs: not balanced");
            }

            if (job.Tree!.Shape.FanIn is { } k && max > k)
            {
                Fail($"stage {s} has a task of {max} inputs, above the fan-in {k}");
            }

            below = Enumerable.Range(0, tasks.Count).Select(t => ArtifactRef.TaskOutput(new TaskId(s, t), OutputName)).ToArray();
        }

        // Every job input and every intermediate output is read exactly once; the final output is not read.
        var reads = new Dictionary<ArtifactRef, int>();
        foreach (var id in plan.TaskIds())
        {
            foreach (var input in plan.GetTask(id).Inputs)
            {
                reads[input] = reads.GetValueOrDefault(input) + 1;
            }
        }

        foreach (var input in inputs)
        {
            if (reads.GetValueOrDefault(ArtifactRef.JobInput(input.Key)) != 1)
            {
                Fail($"input '{input.Key}' is read {reads.GetValueOrDefault(ArtifactRef.JobInput(input.Key))} times");
            }
        }

        foreach (var id in plan.TaskIds())
        {
            var expected = id.Stage == last ? 0 : 1;
            var count = reads.GetValueOrDefault(ArtifactRef.TaskOutput(id, OutputName));
            if (count != expected)
            {
                Fail($"the output of task {id} is read {count} times, expected {expected}");
            }
        }

        if (reads.Count != inputs.Count + plan.TaskCount - 1)
        {
            Fail($"tasks read {reads.Count} distinct artifacts, expected {inputs.Count} inputs and {plan.TaskCount - 1} intermediate outputs");
        }

        // Expanding the final task in order yields the inputs in order: its output is their concatenation.
        var leaves = new List<string>(inputs.Count);
        Expand(plan, new TaskId(last, 0), leaves);
        if (!leaves.SequenceEqual(inputs.Select(i => i.Key)))
        {
            Fail($"the in-order traversal from the final task yields [{string.Join(", ", leaves.Take(20))}...], not the inputs in order");
        }
    }

    private static void Expand(Plan plan, TaskId id, List<string> leaves)
    {
        foreach (var input in plan.GetTask(id).Inputs)
        {
            if (input.Key is { } key)
            {
                leaves.Add(key);
            }
            else
            {
                Expand(plan, input.Task!.Value, leaves);
            }
        }
    }
}
