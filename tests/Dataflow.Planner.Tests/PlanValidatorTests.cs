namespace Dataflow.Planner.Tests;

public sealed class PlanValidatorTests
{
    private static readonly TaskId s_first = new(0, 0);
    private static readonly TaskId s_second = new(0, 1);
    private static readonly TaskId s_final = new(1, 0);

    [Fact]
    public void Validate_ValidPlan_Passes()
    {
        var ex = Record.Exception(() => PlanValidator.Validate(TestPlans.Small()));

        Assert.Null(ex);
    }

    [Fact]
    public void Validate_ValidPlanWithItsJob_Passes()
    {
        var ex = Record.Exception(() => PlanValidator.Validate(TestPlans.Small(), TestPlans.SmallJob()));

        Assert.Null(ex);
    }

    [Fact]
    public void Validate_PlannerPlans_Pass()
    {
        foreach (var (n, k) in new[] { (1, 2), (2, 2), (7, 3), (1000, 3), (4096, 4) })
        {
            var ex = Record.Exception(() => PlanValidator.Validate(TestPlans.FromPlanner(n, k)));
            Assert.True(ex is null, $"n={n} k={k}: {ex}");
        }
    }

    [Fact]
    public void Validate_ExtraDependencyThatIsNotAProducer_Passes()
    {
        // DependsOn lists at least the producers; more is allowed (task 0/1 of the small plan already waits for 0/0).
        var plan = TestPlans.Small().WithTask(s_final, t => t with { DependsOn = [s_first, s_second] });

        Assert.Null(Record.Exception(() => PlanValidator.Validate(plan)));
        Assert.Contains(s_first, TestPlans.Small().GetTask(s_second).DependsOn);
    }

    /// <summary>Each broken plan, with the problem its message must state.</summary>
    private static readonly Dictionary<string, (Func<Plan> Make, string Problem)> s_invalid = new()
    {
        ["no stages"] = (() => TestPlans.Small() with { Stages = [], Outputs = [] },
            "it has no stages"),
        ["empty stage"] = (() => TestPlans.Small() with { Stages = [.. TestPlans.Small().Stages, new PlanStage { Name = "level-3", Tasks = [] }] },
            "stage 2 'level-3' has no tasks"),
        ["empty first stage"] = (() => TestPlans.Small() with { Stages = [new PlanStage { Name = "level-0", Tasks = [] }, .. TestPlans.Small().Stages] },
            "stage 0 'level-0' has no tasks"),
        ["repeated stage name"] = (() => TestPlans.Small() with { Stages = [TestPlans.Small().Stages[0], TestPlans.Small().Stages[1] with { Name = "level-1" }] },
            "stage 1 has a missing, invalid or repeated name 'level-1'"),
        ["invalid stage name"] = (() => TestPlans.Small() with { Stages = [TestPlans.Small().Stages[0] with { Name = "level 1" }, TestPlans.Small().Stages[1]] },
            "stage 0 has a missing, invalid or repeated name 'level 1'"),
        ["unknown input key"] = (() => TestPlans.Small().WithTask(s_first, t => t with { Inputs = [ArtifactRef.JobInput("in/a"), ArtifactRef.JobInput("in/zzz")] }),
            "task 0/0 reads 'in/zzz', which is not among the plan's inputs"),
        ["repeated input"] = (() => TestPlans.Small() with { Inputs = [.. TestPlans.Small().Inputs, new PlanInput("in/a", 10)] },
            "input 'in/a' is listed twice"),
        ["negative input size"] = (() => TestPlans.Small() with { Inputs = [new PlanInput("in/a", -1), .. TestPlans.Small().Inputs.Skip(1)] },
            "input 'in/a' has a negative size"),
        ["unknown producer stage"] = (() => TestPlans.Small().WithTask(s_final, t => t with { Inputs = [ArtifactRef.TaskOutput(new TaskId(5, 0), "out")], DependsOn = [s_first] }),
            "task 1/0 reads output 'out' of task 5/0, which does not exist"),
        ["unknown producer index"] = (() => TestPlans.Small().WithTask(s_final, t => t with { Inputs = [ArtifactRef.TaskOutput(new TaskId(0, 2), "out")], DependsOn = [s_first] }),
            "task 1/0 reads output 'out' of task 0/2, which does not exist"),
        ["unknown producer output"] = (() => TestPlans.Small().WithTask(s_final, t => t with { Inputs = [ArtifactRef.TaskOutput(s_first, "side")], DependsOn = [s_first] }),
            "task 1/0 reads output 'side' of task 0/0, which does not exist"),
        ["input producer missing from DependsOn"] = (() => TestPlans.Small().WithTask(s_final, t => t with { DependsOn = [s_first] }),
            "task 1/0 reads output 'side' of task 0/1 but does not depend on it"),
        ["input producer with no DependsOn"] = (() => TestPlans.Small().WithTask(s_final, t => t with { DependsOn = [] }),
            "task 1/0 reads output 'out' of task 0/0 but does not depend on it"),
        ["input that is both key and task output"] = (() => TestPlans.Small().WithTask(s_first, t => t with { Inputs = [new ArtifactRef { Key = "in/a", Task = s_second, Output = "out" }] }),
            "task 0/0 has an input that is neither a job input key nor a task output"),
        ["input that is neither"] = (() => TestPlans.Small().WithTask(s_first, t => t with { Inputs = [new ArtifactRef()] }),
            "task 0/0 has an input that is neither a job input key nor a task output"),
        ["task output without output name"] = (() => TestPlans.Small().WithTask(s_final, t => t with { Inputs = [new ArtifactRef { Task = s_first }] }),
            "task 1/0 has an input that is neither a job input key nor a task output"),
        ["self dependency"] = (() => TestPlans.Small().WithTask(s_final, t => t with { DependsOn = [s_first, s_second, s_final] }),
            "task 1/0 depends on itself"),
        ["duplicate dependency"] = (() => TestPlans.Small().WithTask(s_final, t => t with { DependsOn = [s_first, s_second, s_first] }),
            "task 1/0 lists dependency 0/0 twice"),
        ["missing dependency"] = (() => TestPlans.Small().WithTask(s_first, t => t with { DependsOn = [new TaskId(3, 0)] }),
            "task 0/0 depends on task 3/0, which does not exist"),
        ["missing dependency index"] = (() => TestPlans.Small().WithTask(s_first, t => t with { DependsOn = [new TaskId(1, 1)] }),
            "task 0/0 depends on task 1/1, which does not exist"),
        ["no operator"] = (() => TestPlans.Small().WithTask(s_second, t => t with { Operator = "" }),
            "task 0/1 names no operator"),
        ["repeated task output name"] = (() => TestPlans.Small().WithTask(s_second, t => t with { Outputs = ["out", "out"] }),
            "task 0/1 has an invalid or repeated output name 'out'"),
        ["invalid task output name"] = (() => TestPlans.Small().WithTask(s_first, t => t with { Outputs = ["out/x"] }),
            "task 0/0 has an invalid or repeated output name 'out/x'"),
        ["duplicate final output key"] = (() => TestPlans.Small() with { Outputs = [new PlanOutput("result/all", s_final, "out"), new PlanOutput("result/all", s_second, "side")] },
            "final output key 'result/all' is invalid or repeated"),
        ["invalid final output key"] = (() => TestPlans.Small() with { Outputs = [new PlanOutput("../result", s_final, "out")] },
            "final output key '../result' is invalid or repeated"),
        ["final output of an unknown task"] = (() => TestPlans.Small() with { Outputs = [new PlanOutput("result/all", new TaskId(2, 0), "out")] },
            "final output 'result/all' comes from output 'out' of task 2/0, which does not exist"),
        ["final output of an unknown output"] = (() => TestPlans.Small() with { Outputs = [new PlanOutput("result/all", s_final, "side")] },
            "final output 'result/all' comes from output 'side' of task 1/0, which does not exist"),
        ["two-task cycle"] = (() => TestPlans.Small().WithTask(s_first, t => t with { DependsOn = [s_final] }),
            "its dependencies form a cycle (task 0/0 can never start)"),
        ["three-task cycle"] = (ThreeTaskCycle,
            "its dependencies form a cycle"),
    };

    public static TheoryData<string> InvalidPlans => new(s_invalid.Keys);

    [Theory]
    [MemberData(nameof(InvalidPlans))]
    public void Validate_InvalidPlan_ThrowsNamingJobRunAndProblem(string problemName)
    {
        var (make, problem) = s_invalid[problemName];
        var plan = make();

        var ex = Assert.Throws<JobDefinitionException>(() => PlanValidator.Validate(plan));

        Assert.Equal(TestPlans.JobName, ex.JobName);
        Assert.StartsWith($"job '{TestPlans.JobName}': plan of run '{TestPlans.RunId}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ThreeTaskCycle_NamesATaskOnTheCycle()
    {
        var ex = Assert.Throws<JobDefinitionException>(() => PlanValidator.Validate(ThreeTaskCycle()));

        Assert.Matches(@"form a cycle \(task 1/[012] can never start\)", ex.Message);
    }

    [Fact]
    public void Validate_TaskBehindACycle_DetectsTheCycle()
    {
        // 0/0 is free, 1/0 and 1/1 wait for each other, 2/0 waits for 1/1: never released, but not on the cycle itself.
        var plan = TestPlans.Small() with
        {
            Inputs = [new PlanInput("in/a", 1)],
            Stages =
            [
                new PlanStage { Name = "free", Tasks = [TestPlans.MakeTask("concat", [ArtifactRef.JobInput("in/a")], [])] },
                new PlanStage
                {
                    Name = "cycle",
                    Tasks =
                    [
                        TestPlans.MakeTask("concat", [ArtifactRef.TaskOutput(new TaskId(0, 0), "out")], [new TaskId(0, 0), new TaskId(1, 1)]),
                        TestPlans.MakeTask("concat", [], [new TaskId(1, 0)]),
                    ],
                },
                new PlanStage { Name = "behind", Tasks = [TestPlans.MakeTask("concat", [ArtifactRef.TaskOutput(new TaskId(1, 1), "out")], [new TaskId(1, 1)])] },
            ],
            Outputs = [new PlanOutput("result", new TaskId(2, 0), "out")],
        };

        var ex = Assert.Throws<JobDefinitionException>(() => PlanValidator.Validate(plan));

        Assert.Contains("its dependencies form a cycle (task 1/", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownOperatorWithJob_ThrowsNamingJobAndOperator()
    {
        var plan = TestPlans.Small().WithTask(s_second, t => t with { Operator = "sort" });

        var ex = Assert.Throws<JobDefinitionException>(() => PlanValidator.Validate(plan, TestPlans.SmallJob()));

        Assert.Equal(TestPlans.JobName, ex.JobName);
        Assert.StartsWith($"job '{TestPlans.JobName}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("operator 'sort'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("it defines: concat", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownOperatorWithoutJob_Passes()
    {
        var plan = TestPlans.Small().WithTask(s_second, t => t with { Operator = "sort" });

        Assert.Null(Record.Exception(() => PlanValidator.Validate(plan)));
    }

    [Fact]
    public void Validate_PlanOfAnotherJob_ThrowsNamingBothJobs()
    {
        var ex = Assert.Throws<JobDefinitionException>(() => PlanValidator.Validate(TestPlans.Small(), TestPlans.SmallJob(name: "other-job")));

        Assert.Equal(TestPlans.JobName, ex.JobName);
        Assert.StartsWith($"job '{TestPlans.JobName}': plan of run '{TestPlans.RunId}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"the plan belongs to job '{TestPlans.JobName}', not to job 'other-job'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_InvalidJobNameInPlan_ThrowsNamingTheName()
    {
        var plan = TestPlans.Small() with { Job = "bad job" };

        var ex = Assert.Throws<JobDefinitionException>(() => PlanValidator.Validate(plan));

        Assert.Contains("the plan's job name 'bad job' is not valid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => PlanValidator.Validate(null!));
    }

    // Stage 1 holds three tasks that wait for each other in a ring: 1/0 → 1/1 → 1/2 → 1/0.
    private static Plan ThreeTaskCycle()
    {
        var small = TestPlans.Small();
        var first = new TaskId(0, 0);
        return small with
        {
            Stages =
            [
                small.Stages[0],
                new PlanStage
                {
                    Name = "ring",
                    Tasks =
                    [
                        TestPlans.MakeTask("concat", [ArtifactRef.TaskOutput(first, "out")], [first, new TaskId(1, 1)]),
                        TestPlans.MakeTask("concat", [], [new TaskId(1, 2)]),
                        TestPlans.MakeTask("concat", [], [new TaskId(1, 0)]),
                    ],
                },
            ],
            Outputs = [new PlanOutput("result/all", new TaskId(1, 0), "out")],
        };
    }
}
