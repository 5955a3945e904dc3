using Dataflow.Core;

namespace Dataflow.Planner;

/// <summary>Checks that a plan is internally consistent, and runnable by a job, before anything runs it.</summary>
internal static class PlanValidator
{
    /// <summary>
    /// Throws when <paramref name="plan"/> is inconsistent: empty stages, references to inputs, tasks or outputs that do not
    /// exist, inputs whose producer is not among the dependencies, duplicate output keys, or dependency cycles. With
    /// <paramref name="job"/>, also when the plan belongs to another job or names an operator the job does not define.
    /// </summary>
    /// <exception cref="JobDefinitionException">The plan is not valid; the message names the job and the first problem found.</exception>
    public static void Validate(Plan plan, Job? job = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var name = plan.Job;
        JobDefinitionException Fail(string problem) => new(name, $"plan of run '{plan.RunId}': {problem}");

        if (!Names.IsValid(plan.Job))
        {
            throw new JobDefinitionException(null, $"the plan's job name '{plan.Job}' is not valid: use {Names.Rule}");
        }

        if (job is not null && !string.Equals(job.Name, plan.Job, StringComparison.Ordinal))
        {
            throw Fail($"the plan belongs to job '{plan.Job}', not to job '{job.Name}'");
        }

        if (plan.Stages.Count == 0)
        {
            throw Fail("it has no stages");
        }

        var inputSizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var input in plan.Inputs)
        {
            if (!inputSizes.TryAdd(input.Key, input.Size))
            {
                throw Fail($"input '{input.Key}' is listed twice");
            }

            if (input.Size < 0)
            {
                throw Fail($"input '{input.Key}' has a negative size");
            }
        }

        var stageNames = new HashSet<string>(StringComparer.Ordinal);
        for (var s = 0; s < plan.Stages.Count; s++)
        {
            var stage = plan.Stages[s];
            if (!Names.IsValid(stage.Name) || !stageNames.Add(stage.Name))
            {
                throw Fail($"stage {s} has a missing, invalid or repeated name '{stage.Name}'");
            }

            if (stage.Tasks.Count == 0)
            {
                throw Fail($"stage {s} '{stage.Name}' has no tasks");
            }

            for (var t = 0; t < stage.Tasks.Count; t++)
            {
                ValidateTask(plan, new TaskId(s, t), stage.Tasks[t], inputSizes, job, Fail);
            }
        }

        var outputKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in plan.Outputs)
        {
            if (!ObjectKey.IsValid(output.Key) || !outputKeys.Add(output.Key))
            {
                throw Fail($"final output key '{output.Key}' is invalid or repeated");
            }

            if (!Exists(plan, output.Task) || !plan.GetTask(output.Task).Outputs.Contains(output.Output, StringComparer.Ordinal))
            {
                throw Fail($"final output '{output.Key}' comes from output '{output.Output}' of task {output.Task}, which does not exist");
            }
        }

        FindCycle(plan, Fail);
    }

    private static void ValidateTask(Plan plan, TaskId id, PlanTask task, Dictionary<string, long> inputSizes, Job? job, Func<string, JobDefinitionException> fail)
    {
        if (string.IsNullOrEmpty(task.Operator))
        {
            throw fail($"task {id} names no operator");
        }

        if (job is not null)
        {
            _ = job.ResolveOperator(task.Operator);
        }

        var outputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in task.Outputs)
        {
            if (!Names.IsValid(output) || !outputs.Add(output))
            {
                throw fail($"task {id} has an invalid or repeated output name '{output}'");
            }
        }

        var dependencies = new HashSet<TaskId>();
        foreach (var dependency in task.DependsOn)
        {
            if (!Exists(plan, dependency))
            {
                throw fail($"task {id} depends on task {dependency}, which does not exist");
            }

            if (dependency == id)
            {
                throw fail($"task {id} depends on itself");
            }

            if (!dependencies.Add(dependency))
            {
                throw fail($"task {id} lists dependency {dependency} twice");
            }
        }

        foreach (var input in task.Inputs)
        {
            switch (input)
            {
                case { Key: { } key, Task: null, Output: null }:
                    if (!inputSizes.TryGetValue(key, out var size))
                    {
                        throw fail($"task {id} reads '{key}', which is not among the plan's inputs");
                    }

                    if ((input.Offset is null) != (input.Length is null))
                    {
                        throw fail($"task {id} reads a range of '{key}' with an offset or a length but not both");
                    }

                    if (input.Offset is { } offset && (offset < 0 || input.Length < 0 || offset > size || input.Length > size - offset))
                    {
                        throw fail($"task {id} reads bytes {offset} to {offset + input.Length} of '{key}', which has {size} bytes");
                    }

                    break;
                case { Key: null, Task: { } producer, Output: { } output, Offset: null, Length: null }:
                    if (!Exists(plan, producer) || !plan.GetTask(producer).Outputs.Contains(output, StringComparer.Ordinal))
                    {
                        throw fail($"task {id} reads output '{output}' of task {producer}, which does not exist");
                    }

                    if (!dependencies.Contains(producer))
                    {
                        throw fail($"task {id} reads output '{output}' of task {producer} but does not depend on it");
                    }

                    break;
                default:
                    throw fail($"task {id} has an input that is neither a job input key nor a task output");
            }
        }
    }

    private static bool Exists(Plan plan, TaskId id) =>
        (uint)id.Stage < (uint)plan.Stages.Count && (uint)id.Index < (uint)plan.Stages[id.Stage].Tasks.Count;

    // Kahn's algorithm over DependsOn; whatever is never released lies on or behind a cycle.
    private static void FindCycle(Plan plan, Func<string, JobDefinitionException> fail)
    {
        var offsets = new int[plan.Stages.Count + 1];
        for (var s = 0; s < plan.Stages.Count; s++)
        {
            offsets[s + 1] = offsets[s] + plan.Stages[s].Tasks.Count;
        }

        var total = offsets[^1];
        var waiting = new int[total];
        var dependents = new List<int>?[total];
        foreach (var id in plan.TaskIds())
        {
            var task = plan.GetTask(id);
            var me = offsets[id.Stage] + id.Index;
            waiting[me] = task.DependsOn.Count;
            foreach (var dependency in task.DependsOn)
            {
                (dependents[offsets[dependency.Stage] + dependency.Index] ??= []).Add(me);
            }
        }

        var ready = new Stack<int>();
        for (var i = 0; i < total; i++)
        {
            if (waiting[i] == 0)
            {
                ready.Push(i);
            }
        }

        var released = 0;
        while (ready.TryPop(out var i))
        {
            released++;
            foreach (var d in dependents[i] ?? [])
            {
                if (--waiting[d] == 0)
                {
                    ready.Push(d);
                }
            }
        }

        if (released == total)
        {
            return;
        }

        var stuck = Array.FindIndex(waiting, w => w > 0);
        var stage = Array.FindLastIndex(offsets, o => o <= stuck);
        throw fail($"its dependencies form a cycle (task {new TaskId(stage, stuck - offsets[stage])} can never start)");
    }
}
