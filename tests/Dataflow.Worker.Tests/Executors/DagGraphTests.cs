namespace Dataflow.Worker.Tests.Executors;

public sealed class DagGraphTests
{
    [Fact]
    public void FromPlan_TreePlan_IndexesRoundTripAndDependenciesMatchThePlan()
    {
        var job = Job.Named("g").FromPrefix("in/").ReduceTree(3, new ConcatOperator()).WriteTo("out");
        var inputs = Enumerable.Range(0, 100).Select(i => new PlanInput($"in/{i:D3}", 1)).ToArray();
        var plan = JobPlanner.CreatePlan(job, inputs, "r1", DateTimeOffset.UnixEpoch);

        var graph = DagGraph.FromPlan(plan);

        Assert.Equal(plan.TaskCount, graph.Count);
        foreach (var id in plan.TaskIds())
        {
            var index = graph.IndexOf(id);
            Assert.Equal(id, graph.IdOf(index));
            Assert.Equal(plan.GetTask(id).DependsOn.Count, graph.DependencyCounts[index]);
            foreach (var dependency in plan.GetTask(id).DependsOn)
            {
                Assert.Contains(index, graph.Dependents[graph.IndexOf(dependency)]);
            }
        }
    }
}
