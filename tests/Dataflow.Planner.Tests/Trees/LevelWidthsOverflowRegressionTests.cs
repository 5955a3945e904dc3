namespace Dataflow.Planner.Tests.Trees;

/// <summary>
/// Regression: <see cref="TreeShape.LevelWidths"/> computed ⌈n/k⌉ as <c>(n + k - 1) / k</c>, which overflows
/// <see cref="int"/> when n + k - 1 exceeds int.MaxValue (a fan-in near int.MaxValue, meaning "everything in one
/// task", or int.MaxValue inputs). The width came out 0 or negative, and planning failed with an
/// ArgumentOutOfRangeException from <see cref="TreeShape.BalancedStarts"/>.
/// </summary>
public sealed class LevelWidthsOverflowRegressionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(1000)]
    [InlineData(int.MaxValue)]
    public void LevelWidths_FanInNearIntMaxValue_DoesNotOverflow(int n)
    {
        // n < 2k here, so one level of one task when n ≤ k, else two levels.
        foreach (var k in new[] { int.MaxValue, int.MaxValue - 1, int.MaxValue / 2 + 1 })
        {
            int[] expected = n <= k ? [1] : [2, 1];
            Assert.Equal(expected, TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { FanIn = k }, n));
        }
    }

    [Fact]
    public void LevelWidths_IntMaxValueInputs_DoesNotOverflow()
    {
        var byTwo = TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { FanIn = 2 }, int.MaxValue);
        var byHalf = TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { FanIn = 1 << 30 }, int.MaxValue);

        Assert.Equal(31, byTwo.Count);
        Assert.Equal([1 << 30, 1 << 29, 1 << 28], byTwo.Take(3));
        Assert.Equal(1, byTwo[^1]);
        Assert.Equal([2, 1], byHalf);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1000)]
    public void CreatePlan_FanInIntMaxValue_OneTaskReadsEveryInput(int n)
    {
        var job = Job.Named("tree-job").FromPrefix("in/").ReduceTree(int.MaxValue, new ConcatOperator()).WriteTo("out/merged");
        var inputs = TreeChecker.Inputs(n);

        var plan = JobPlanner.CreatePlan(job, inputs, "run-1", DateTimeOffset.UnixEpoch);

        TreeChecker.Check(plan, job, inputs, [1], $"n={n} k=int.MaxValue");
    }
}
