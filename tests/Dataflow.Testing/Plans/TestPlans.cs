namespace Dataflow.Testing;

/// <summary>Plans for serializer and validator tests.</summary>
public static class TestPlans
{
    public const string JobName = "plan-job";
    public const string RunId = "run-1";

    /// <summary>
    /// A valid hand-built plan: inputs a, b, c; stage 0 has task 0/0 reading a, b and task 0/1 reading c (and also
    /// waiting for 0/0 without reading it); stage 1 has task 1/0 reading both outputs; two final outputs.
    /// </summary>
    public static Plan Small() => new()
    {
        DataflowVersion = "0.1.0+test",
        Job = JobName,
        RunId = RunId,
        CreatedAt = new DateTimeOffset(2026, 11, 29, 2, 44, 55, TimeSpan.FromMinutes(330)).AddTicks(1234567),
        Inputs = [new PlanInput("in/a", 10), new PlanInput("in/b", 0), new PlanInput("in/ü-😀", long.MaxValue)],
        Stages =
        [
            new PlanStage
            {
                Name = "level-1",
                Tasks =
                [
                    MakeTask("concat", [ArtifactRef.JobInput("in/a"), ArtifactRef.JobInput("in/b")], []),
                    MakeTask("concat", [ArtifactRef.JobInput("in/ü-😀")], [new TaskId(0, 0)], "out", "side"),
                ],
            },
            new PlanStage
            {
                Name = "level-2",
                Tasks =
                [
                    MakeTask("concat", [ArtifactRef.TaskOutput(new TaskId(0, 0), "out"), ArtifactRef.TaskOutput(new TaskId(0, 1), "side")], [new TaskId(0, 1), new TaskId(0, 0)]),
                ],
            },
        ],
        Outputs = [new PlanOutput("result/all", new TaskId(1, 0), "out"), new PlanOutput("result/side", new TaskId(0, 1), "side")],
    };

    /// <summary>A job that <see cref="Small"/> belongs to.</summary>
    public static Job SmallJob(string name = JobName, string operatorName = "concat") =>
        Job.Named(name).FromKeys(["in/a", "in/b", "in/ü-😀"]).ReduceTree(2, new TestOperator(operatorName)).WriteTo("result/all");

    /// <summary>A plan made by the real planner.</summary>
    public static Plan FromPlanner(int inputCount, int fanIn)
    {
        var inputs = Enumerable.Range(0, inputCount).Select(i => new PlanInput($"in/part-{i:D5}", i * 7L)).ToArray();
        var job = Job.Named("planned").FromPrefix("in/").ReduceTree(fanIn, new ConcatOperator()).WriteTo("out/merged");
        return JobPlanner.CreatePlan(job, inputs, "20261129-024455-3fa2c1", new DateTimeOffset(2026, 11, 29, 2, 44, 55, 123, TimeSpan.Zero));
    }

    public static PlanTask MakeTask(string op, ArtifactRef[] inputs, TaskId[] dependsOn, params string[] outputs) => new()
    {
        Operator = op,
        Inputs = inputs,
        Outputs = outputs.Length == 0 ? ["out"] : outputs,
        DependsOn = dependsOn,
    };

    /// <summary>The plan with task <paramref name="id"/> replaced.</summary>
    public static Plan WithTask(this Plan plan, TaskId id, Func<PlanTask, PlanTask> change) => plan with
    {
        Stages = plan.Stages.Select((stage, s) => s != id.Stage ? stage : stage with
        {
            Tasks = stage.Tasks.Select((task, t) => t == id.Index ? change(task) : task).ToArray(),
        }).ToArray(),
    };
}
