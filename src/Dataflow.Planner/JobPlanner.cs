using Dataflow.Core;

namespace Dataflow.Planner;

/// <summary>Turns a job and the listing of its inputs into a plan.</summary>
public static class JobPlanner
{
    /// <summary>
    /// Plans one run of <paramref name="job"/> over <paramref name="inputs"/> (in the order the job reads them: key
    /// order for a prefix). The plan is validated before it is returned.
    /// </summary>
    /// <param name="job">The job.</param>
    /// <param name="inputs">The input objects with their sizes.</param>
    /// <param name="runId">The run the plan is for.</param>
    /// <param name="createdAt">When the plan is made.</param>
    /// <exception cref="JobDefinitionException">There are no inputs, or the job's shape does not fit them (a first width larger than the input count).</exception>
    public static Plan CreatePlan(Job job, IReadOnlyList<PlanInput> inputs, string runId, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(runId);
        if (inputs.Count == 0)
        {
            throw new JobDefinitionException(job.Name, $"the input ({job.Input}) holds no objects");
        }

        IReadOnlyList<PlanStage> stages;
        IReadOnlyList<PlanOutput> outputs;
        if (job.MapReduce is { } mapReduce)
        {
            (stages, outputs) = MapReducePlanner.Plan(job, mapReduce, inputs);
        }
        else
        {
            stages = ReduceTreePlanner.PlanStages(job.Name, job.Tree!, inputs.Select(i => i.Key).ToArray());
            outputs = [new PlanOutput(job.OutputKey, new TaskId(stages.Count - 1, 0), ReduceTreePlanner.OutputName)];
        }

        var plan = new Plan
        {
            DataflowVersion = DataflowInfo.Version,
            Job = job.Name,
            RunId = runId,
            CreatedAt = createdAt,
            Inputs = inputs.ToArray(),
            Stages = stages,
            Outputs = outputs,
        };
        PlanValidator.Validate(plan, job);
        return plan;
    }
}
