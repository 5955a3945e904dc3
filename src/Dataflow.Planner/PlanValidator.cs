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

        var inputSizes = new Dictionary<string, long>(plan.Inputs.Count, StringComparer.Ordinal);
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
        var seen = new Seen(job);
        var ordered = true;
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
                ordered &= ValidateTask(plan, new TaskId(s, t), stage.Tasks[t], inputSizes, seen, Fail);
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

        // A plan whose every dependency comes before its dependent in (stage, index) order has that order as a
        // topological one: no cycle, and no need for the graph walk (a million tasks' worth of lists).
        if (!ordered)
        {
            FindCycle(plan, Fail);
        }
    }

    // True when every dependency of the task comes before it in (stage, index) order.
    private static bool ValidateTask(Plan plan, TaskId id, PlanTask task, Dictionary<string, long> inputSizes, Seen seen, Func<string, JobDefinitionException> fail)
    {
        if (string.IsNullOrEmpty(task.Operator))
        {
            throw fail($"task {id} names no operator");
        }

        seen.Operator(task.Operator);
        if (!seen.CheckedOutputs(task.Outputs))
        {
            for (var o = 0; o < task.Outputs.Count; o++)
            {
                var output = task.Outputs[o];
                if (!Names.IsValid(output) || IndexOf(task.Outputs, output, o) >= 0)
                {
                    throw fail($"task {id} has an invalid or repeated output name '{output}'");
                }
            }
        }

        var ordered = true;
        var dependencies = task.DependsOn;
        var set = dependencies.Count > SmallList ? new HashSet<TaskId>(dependencies.Count) : null;
        for (var d = 0; d < dependencies.Count; d++)
        {
            var dependency = dependencies[d];
            if (!Exists(plan, dependency))
            {
                throw fail($"task {id} depends on task {dependency}, which does not exist");
            }

            if (dependency == id)
            {
                throw fail($"task {id} depends on itself");
            }

            if (set is null ? IndexOf(dependencies, dependency, d) >= 0 : !set.Add(dependency))
            {
                throw fail($"task {id} lists dependency {dependency} twice");
            }

            ordered &= dependency < id;
        }

        for (var i = 0; i < task.Inputs.Count; i++)
        {
            var input = task.Inputs[i];
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
                    if (!Exists(plan, producer) || IndexOf(plan.GetTask(producer).Outputs, output, -1) < 0)
                    {
                        throw fail($"task {id} reads output '{output}' of task {producer}, which does not exist");
                    }

                    if (!(set?.Contains(producer) ?? IndexOf(dependencies, producer, -1) >= 0))
                    {
                        throw fail($"task {id} reads output '{output}' of task {producer} but does not depend on it");
                    }

                    break;
                default:
                    throw fail($"task {id} has an input that is neither a job input key nor a task output");
            }
        }

        return ordered;
    }

    // Tasks have a few outputs and dependencies each: a scan allocates nothing, where a set per task was a million
    // sets per plan. A long list (a reducer depends on every map task) is checked through a set.
    private const int SmallList = 16;

    private static int IndexOf<T>(IReadOnlyList<T> items, T item, int except)
        where T : IEquatable<T>
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (i != except && items[i].Equals(item))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>What the tasks validated so far share, so that a million tasks of one operator resolve it once.</summary>
    private sealed class Seen(Job? job)
    {
        private string? _operator;
        private IReadOnlyList<string>? _outputs;

        public void Operator(string name)
        {
            if (job is not null && !string.Equals(name, _operator, StringComparison.Ordinal))
            {
                _ = job.ResolveOperator(name);
                _operator = name;
            }
        }

        // Planners give every task of a stage the same list of output names: it is checked once.
        public bool CheckedOutputs(IReadOnlyList<string> outputs)
        {
            if (ReferenceEquals(outputs, _outputs))
            {
                return true;
            }

            _outputs = outputs;
            return false;
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
