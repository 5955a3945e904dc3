namespace Dataflow.Planner.Tests.Trees;

public sealed class ReduceTreePlannerTests
{
    private const string JobName = "tree-job";
    private const string RunId = "20261129-024455-3fa2c1";
    private static readonly DateTimeOffset s_createdAt = new(2026, 11, 29, 2, 44, 55, TimeSpan.Zero);

    private static Job FanInJob(int k) => Job.Named(JobName).FromPrefix("in/").ReduceTree(k, new ConcatOperator()).WriteTo("out/merged");

    private static Job WidthsJob(IReadOnlyList<int> widths) => Job.Named(JobName).FromPrefix("in/").ReduceTree(widths, new ConcatOperator()).WriteTo("out/merged");

    private static int[] ExpectedFanInWidths(int n, int k)
    {
        var widths = new List<int>();
        do
        {
            n = (int)Math.Ceiling(n / (double)k);
            widths.Add(n);
        }
        while (n > 1);
        return [.. widths];
    }

    public static TheoryData<int> FanIns => new() { 2, 3, 4, 5, 6, 7, 8, 9 };

    /// <summary>
    /// A dense sample of 1..1100 for fan-in k: every count up to 300, the counts around every power of k (where a
    /// level appears), the brief's named counts, and every 11th count above 300.
    /// </summary>
    public static IEnumerable<int> InputCounts(int k)
    {
        var counts = new SortedSet<int>(Enumerable.Range(1, 300)) { 511, 512, 513, 1000, 1023, 1024, 1025, 1099, 1100 };
        for (var n = 301; n <= 1100; n += 11)
        {
            counts.Add(n);
        }

        for (long power = k; power <= 1100; power *= k)
        {
            counts.UnionWith([(int)power - 1, (int)power, (int)power + 1]);
            counts.UnionWith([(int)(power * (k - 1)) - 1, (int)(power * (k - 1)), (int)(power * (k - 1)) + 1]);
        }

        return counts.Where(n => n is >= 1 and <= 1100);
    }

    [Theory]
    [MemberData(nameof(FanIns))]
    public void CreatePlan_FanInForManyInputCountsUpTo1100_TreeHasAllProperties(int k)
    {
        var job = FanInJob(k);
        foreach (var n in InputCounts(k))
        {
            var inputs = TreeChecker.Inputs(n, seed: n);

            var plan = JobPlanner.CreatePlan(job, inputs, RunId, s_createdAt);

            Assert.True(plan.RunId == RunId && plan.CreatedAt == s_createdAt, $"n={n} k={k}: run id or time not kept");
            TreeChecker.Check(plan, job, inputs, ExpectedFanInWidths(n, k), $"n={n} k={k}");
        }
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(4097)]
    [InlineData(10_000)]
    public void CreatePlan_FanInForLargerInputCounts_TreeHasAllProperties(int n)
    {
        var inputs = TreeChecker.Inputs(n);
        foreach (var k in new[] { 2, 3, 10, 64, 1000, 9999, 10_000, 10_001 })
        {
            var job = FanInJob(k);

            var plan = JobPlanner.CreatePlan(job, inputs, RunId, s_createdAt);

            TreeChecker.Check(plan, job, inputs, ExpectedFanInWidths(n, k), $"n={n} k={k}");
        }
    }

    [Fact]
    public void CreatePlan_RandomWidths_HonouredExactlyWithAllProperties()
    {
        var random = new Random(12345);
        int[] special = [1, 2, 3, 511, 512, 513, 1000, 1024, 1025];
        for (var i = 0; i < 300; i++)
        {
            var n = i < special.Length * 4 ? special[i % special.Length] : random.Next(1, 1101);
            var widths = RandomWidths(random, n);
            var job = WidthsJob(widths);
            var inputs = TreeChecker.Inputs(n, seed: i);

            var plan = JobPlanner.CreatePlan(job, inputs, RunId, s_createdAt);

            TreeChecker.Check(plan, job, inputs, widths, $"case {i}: n={n} widths=[{string.Join(",", widths)}]");
        }
    }

    // A strictly decreasing list of 1 to 7 positive widths, ending in 1, whose first is at most n.
    private static int[] RandomWidths(Random random, int n)
    {
        var extra = Math.Min(random.Next(0, 7), n - 1);
        var upper = random.Next(3) == 0 ? n : Math.Max(2, n / random.Next(1, 9));
        var chosen = new SortedSet<int>();
        while (chosen.Count < extra)
        {
            chosen.Add(random.Next(2, Math.Max(upper, extra + 1) + 1));
        }

        if (extra > 0 && random.Next(4) == 0)
        {
            chosen.Remove(chosen.Max);
            chosen.Add(n); // first level of single-input tasks
        }

        return [.. chosen.Reverse(), 1];
    }

    [Fact]
    public void CreatePlan_512InputsWidths64_8_1_ThreeStagesOfEightInputsPerTask()
    {
        var job = WidthsJob([64, 8, 1]);
        var inputs = TreeChecker.Inputs(512);

        var plan = JobPlanner.CreatePlan(job, inputs, RunId, s_createdAt);

        Assert.Equal([64, 8, 1], plan.Stages.Select(s => s.Tasks.Count));
        Assert.Equal(["level-1", "level-2", "level-3"], plan.Stages.Select(s => s.Name));
        Assert.All(plan.Stages.SelectMany(s => s.Tasks), task => Assert.Equal(8, task.Inputs.Count));
        Assert.Equal(inputs.Skip(8).Take(8).Select(i => ArtifactRef.JobInput(i.Key)), plan.Stages[0].Tasks[1].Inputs);
        Assert.Equal(Enumerable.Range(8, 8).Select(t => new TaskId(0, t)), plan.Stages[1].Tasks[1].DependsOn);
        TreeChecker.Check(plan, job, inputs, [64, 8, 1], "512 inputs, widths 64,8,1");
    }

    [Fact]
    public void CreatePlan_1000InputsFanIn3_StageSizes334To1()
    {
        var job = FanInJob(3);
        var inputs = TreeChecker.Inputs(1000);

        var plan = JobPlanner.CreatePlan(job, inputs, RunId, s_createdAt);

        Assert.Equal([334, 112, 38, 13, 5, 2, 1], plan.Stages.Select(s => s.Tasks.Count));
        Assert.Equal(505, plan.TaskCount);
        // 1000 = 333·3 + 1: balanced groups are 332 of 3 and 2 of 2, the larger first.
        Assert.Equal(Enumerable.Repeat(3, 332).Concat([2, 2]), plan.Stages[0].Tasks.Select(t => t.Inputs.Count));
        Assert.Equal(new PlanOutput("out/merged", new TaskId(6, 0), "out"), Assert.Single(plan.Outputs));
        TreeChecker.Check(plan, job, inputs, [334, 112, 38, 13, 5, 2, 1], "1000 inputs, fan-in 3");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(9)]
    [InlineData(int.MaxValue)]
    public void CreatePlan_SingleInputWithFanIn_OneStageOfOneTaskReadingIt(int k)
    {
        var plan = JobPlanner.CreatePlan(FanInJob(k), [new PlanInput("in/only", 5)], RunId, s_createdAt);

        AssertSingleTaskReadingTheOnlyInput(plan);
    }

    [Fact]
    public void CreatePlan_SingleInputWithWidthOne_OneStageOfOneTaskReadingIt()
    {
        var plan = JobPlanner.CreatePlan(WidthsJob([1]), [new PlanInput("in/only", 5)], RunId, s_createdAt);

        AssertSingleTaskReadingTheOnlyInput(plan);
    }

    private static void AssertSingleTaskReadingTheOnlyInput(Plan plan)
    {
        var stage = Assert.Single(plan.Stages);
        Assert.Equal("level-1", stage.Name);
        var task = Assert.Single(stage.Tasks);
        Assert.Equal([ArtifactRef.JobInput("in/only")], task.Inputs);
        Assert.Empty(task.DependsOn);
        Assert.Equal(["out"], task.Outputs);
        Assert.Equal("concat", task.Operator);
        Assert.Equal(new PlanOutput("out/merged", new TaskId(0, 0), "out"), Assert.Single(plan.Outputs));
    }

    [Theory]
    [InlineData(1, new[] { 2, 1 })]
    [InlineData(63, new[] { 64, 8, 1 })]
    [InlineData(511, new[] { 512, 1 })]
    public void CreatePlan_FirstWidthAboveInputCount_ThrowsNamingJob(int n, int[] widths)
    {
        var ex = Assert.Throws<JobDefinitionException>(() => JobPlanner.CreatePlan(WidthsJob(widths), TreeChecker.Inputs(n), RunId, s_createdAt));

        Assert.Equal(JobName, ex.JobName);
        Assert.StartsWith($"job '{JobName}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"the first level has {widths[0]} tasks but there are only {n} inputs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreatePlan_NoInputs_ThrowsNamingJobAndInput()
    {
        var ex = Assert.Throws<JobDefinitionException>(() => JobPlanner.CreatePlan(FanInJob(2), [], RunId, s_createdAt));

        Assert.Equal(JobName, ex.JobName);
        Assert.StartsWith($"job '{JobName}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the input (prefix 'in/') holds no objects", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreatePlan_DuplicateInputKey_ThrowsNamingJobAndKey()
    {
        PlanInput[] inputs = [new("in/a", 1), new("in/b", 2), new("in/a", 1)];

        var ex = Assert.Throws<JobDefinitionException>(() => JobPlanner.CreatePlan(FanInJob(2), inputs, RunId, s_createdAt));

        Assert.Equal(JobName, ex.JobName);
        Assert.Contains("input 'in/a' is listed twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreatePlan_NullArguments_ThrowArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => JobPlanner.CreatePlan(null!, TreeChecker.Inputs(1), RunId, s_createdAt));
        Assert.Throws<ArgumentNullException>(() => JobPlanner.CreatePlan(FanInJob(2), null!, RunId, s_createdAt));
        Assert.Throws<ArgumentNullException>(() => JobPlanner.CreatePlan(FanInJob(2), TreeChecker.Inputs(1), null!, s_createdAt));
    }

    [Fact]
    public void CreatePlan_SameArgumentsTwice_IdenticalPlans()
    {
        var inputs = TreeChecker.Inputs(777);

        var first = PlanJson.Of(JobPlanner.CreatePlan(FanInJob(4), inputs, RunId, s_createdAt));
        var second = PlanJson.Of(JobPlanner.CreatePlan(FanInJob(4), inputs.ToArray(), RunId, s_createdAt));

        Assert.Equal(first, second);
    }

    [Fact]
    public void CreatePlan_InputListChangedAfterwards_PlanKeepsItsOwnCopy()
    {
        var inputs = TreeChecker.Inputs(10);

        var plan = JobPlanner.CreatePlan(FanInJob(3), inputs, RunId, s_createdAt);
        var expected = inputs.ToArray();
        inputs[0] = new PlanInput("in/changed", 0);

        Assert.Equal(expected, plan.Inputs);
    }

    [Fact]
    public void PlanStages_Direct_MatchesThePlannersStages()
    {
        var job = FanInJob(5);
        var inputs = TreeChecker.Inputs(123);

        var stages = ReduceTreePlanner.PlanStages(job.Name, job.Tree!, inputs.Select(i => i.Key).ToArray());
        var plan = JobPlanner.CreatePlan(job, inputs, RunId, s_createdAt);

        Assert.Equal("out", ReduceTreePlanner.OutputName);
        Assert.Equal(PlanJson.Of(plan), PlanJson.Of(plan with { Stages = stages }));
    }
}
