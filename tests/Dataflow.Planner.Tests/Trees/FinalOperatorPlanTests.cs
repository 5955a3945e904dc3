namespace Dataflow.Planner.Tests.Trees;

/// <summary>A reduce tree with a final operator of its own: the plan names it for the last level's task only.</summary>
public sealed class FinalOperatorPlanTests
{
    private const string RunId = "20261203-170000-3fa2c1";
    private static readonly DateTimeOffset s_createdAt = new(2026, 12, 3, 17, 0, 0, TimeSpan.Zero);

    private sealed class Named(string name) : IObjectOperator
    {
        public string Name => name;

        public ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    [Theory]
    [InlineData(new[] { 75, 19, 5, 1 })]
    [InlineData(new[] { 1 })]
    public void CreatePlan_FinalOperatorGiven_OnlyTheLastLevelRunsIt(int[] widths)
    {
        var job = Job.Named("tree-job").FromPrefix("in/")
            .ReduceTree(new ReduceTreeOptions { Widths = widths }, new Named("merge"), new Named("merge-final"))
            .WriteTo("out/merged");

        var plan = JobPlanner.CreatePlan(job, TreeChecker.Inputs(300), RunId, s_createdAt);

        Assert.Equal(widths.Length, plan.Stages.Count);
        Assert.All(plan.Stages.SkipLast(1).SelectMany(s => s.Tasks), t => Assert.Equal("merge", t.Operator));
        Assert.Equal("merge-final", Assert.Single(plan.Stages[^1].Tasks).Operator);
    }

    [Fact]
    public void CreatePlan_TypedTree_NamesTheIntermediateAndFinalOperators()
    {
        var job = Job.Named("tree-job").FromPrefix("in/")
            .ReduceTree(new ReduceTreeOptions { FanIn = 4 }, new RecordTreeSpec<long> { Name = "kway", InputFormat = RecordFileFormat.Binary, OutputFormat = RecordFileFormat.Binary })
            .WriteTo("out/merged");

        var plan = JobPlanner.CreatePlan(job, TreeChecker.Inputs(300), RunId, s_createdAt);

        Assert.Equal([75, 19, 5, 2, 1], plan.Stages.Select(s => s.Tasks.Count));
        Assert.Equal(["kway", "kway", "kway", "kway", "kway-final"], plan.Stages.Select(s => s.Tasks[0].Operator));
    }
}
