namespace Dataflow.Core.Tests.Jobs;

public sealed class JobBuilderTests
{
    private const string JobName = "my-job";

    [Fact]
    public void WriteTo_PrefixAndFanIn_BuildsJobAsDefined()
    {
        var op = new ConcatOperator();

        var job = Job.Named(JobName).FromPrefix("input/").ReduceTree(fanIn: 4, op).WriteTo("output/merged.txt");

        Assert.Equal(JobName, job.Name);
        Assert.Equal("input/", job.Input.Prefix);
        Assert.Null(job.Input.Keys);
        Assert.Equal(4, job.Tree!.Shape.FanIn);
        Assert.Null(job.Tree!.Shape.Widths);
        Assert.Same(op, job.Tree!.Operator);
        Assert.Equal("output/merged.txt", job.OutputKey);
        var entry = Assert.Single(job.Operators);
        Assert.Equal("concat", entry.Key);
        Assert.Same(op, entry.Value);
        Assert.Equal("job 'my-job'", job.ToString());
        Assert.Equal("prefix 'input/'", job.Input.ToString());
        Assert.Equal("fan-in 4", job.Tree!.Shape.ToString());
    }

    [Fact]
    public void WriteTo_KeysAndWidths_BuildsJobAsDefined()
    {
        var op = new TestOperator("merge");
        string[] keys = ["in/c", "in/a", "in/b"];

        var job = Job.Named(JobName).FromKeys(keys).ReduceTree([2, 1], op).WriteTo("out");

        Assert.Null(job.Input.Prefix);
        Assert.Equal(keys, job.Input.Keys);
        Assert.Null(job.Tree!.Shape.FanIn);
        Assert.Equal([2, 1], job.Tree!.Shape.Widths);
        Assert.Same(op, job.ResolveOperator("merge"));
        Assert.Equal("out", job.OutputKey);
        Assert.Equal("3 listed keys", job.Input.ToString());
        Assert.Equal("widths 2,1", job.Tree!.Shape.ToString());
    }

    [Fact]
    public void WriteTo_OptionsShape_BuildsJobWithThatShape()
    {
        var job = Job.Named(JobName).FromPrefix("in/").ReduceTree(new ReduceTreeOptions { Widths = [8, 3, 1] }, new ConcatOperator()).WriteTo("out");

        Assert.Null(job.Tree!.Shape.FanIn);
        Assert.Equal([8, 3, 1], job.Tree!.Shape.Widths);
    }

    [Fact]
    public void FromKeys_SourceChangedAfterwards_JobKeepsKeysAsGiven()
    {
        var keys = new List<string> { "a", "b" };
        var builder = Job.Named(JobName).FromKeys(keys);
        keys[0] = "changed";
        keys.Add("c");

        var job = builder.ReduceTree(2, new ConcatOperator()).WriteTo("out");

        Assert.Equal(["a", "b"], job.Input.Keys);
    }

    [Fact]
    public void ReduceTree_WidthsChangedAfterwards_JobKeepsWidthsAsGiven()
    {
        int[] widths = [4, 2, 1];
        var options = new ReduceTreeOptions { Widths = widths };
        var builder = Job.Named(JobName).FromPrefix("in/").ReduceTree(options, new ConcatOperator());
        widths[1] = 3;

        var job = builder.WriteTo("out");

        Assert.Equal([4, 2, 1], job.Tree!.Shape.Widths);
        Assert.NotSame(options, job.Tree!.Shape);
    }

    [Fact]
    public void Builder_SharedAndExtendedTwice_EachJobKeepsItsOwnDefinition()
    {
        var common = Job.Named(JobName).FromPrefix("in/");

        var byFanIn = common.ReduceTree(2, new ConcatOperator()).WriteTo("out/a");
        var byWidths = common.ReduceTree([1], new TestOperator("other")).WriteTo("out/b");
        var fromKeys = common.FromKeys(["x"]).ReduceTree(3, new ConcatOperator()).WriteTo("out/c");

        Assert.Equal(2, byFanIn.Tree!.Shape.FanIn);
        Assert.Equal("out/a", byFanIn.OutputKey);
        Assert.Equal([1], byWidths.Tree!.Shape.Widths);
        Assert.Equal("other", byWidths.Tree.Operator.Name);
        Assert.Equal("in/", byWidths.Input.Prefix);
        Assert.Null(fromKeys.Input.Prefix);
        Assert.Equal(["x"], fromKeys.Input.Keys);
    }

    [Fact]
    public void WriteTo_LaterCallsOverrideEarlierOnes_JobUsesTheLastInputAndTree()
    {
        var job = Job.Named(JobName)
            .FromPrefix("first/")
            .ReduceTree(2, new TestOperator("first"))
            .FromKeys(["k1", "k2"])
            .ReduceTree(5, new TestOperator("second"))
            .WriteTo("out");

        Assert.Null(job.Input.Prefix);
        Assert.Equal(["k1", "k2"], job.Input.Keys);
        Assert.Equal(5, job.Tree!.Shape.FanIn);
        Assert.Equal("second", Assert.Single(job.Operators).Key);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("7")]
    [InlineData("merge-files")]
    [InlineData("A.b_c-1")]
    [InlineData("x123456789012345678901234567890123456789012345678901234567890ab")] // 63 characters
    public void Named_ValidName_Accepted(string name)
    {
        var job = Job.Named(name).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("out");

        Assert.Equal(name, job.Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-job")]
    [InlineData("_job")]
    [InlineData(".job")]
    [InlineData("my job")]
    [InlineData("a/b")]
    [InlineData("jöb")]
    [InlineData("job!")]
    [InlineData("x1234567890123456789012345678901234567890123456789012345678901abc")] // 64 characters
    public void Named_InvalidName_ThrowsNamingTheNameAndTheRule(string name)
    {
        var ex = Assert.Throws<JobDefinitionException>(() => Job.Named(name));

        Assert.Null(ex.JobName);
        Assert.StartsWith("job: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"the name '{name}' is not valid", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1 to 63 ASCII letters", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Named_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Job.Named(null!));
    }

    /// <summary>Each invalid definition with the problem its message must state.</summary>
    private static readonly Dictionary<string, (Func<Job> Build, string Problem)> s_invalid = new()
    {
        ["no input"] = (() => Job.Named(JobName).ReduceTree(2, new ConcatOperator()).WriteTo("out"),
            "no input: call FromPrefix or FromKeys"),
        ["empty key list"] = (() => Job.Named(JobName).FromKeys([]).ReduceTree(2, new ConcatOperator()).WriteTo("out"),
            "the input is an empty list of keys"),
        ["no processing step"] = (() => Job.Named(JobName).FromPrefix("in/").WriteTo("out"),
            "no processing step: call ReduceTree or MapReduce"),
        ["fan-in 1"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(1, new ConcatOperator()).WriteTo("out"),
            "the fan-in must be at least 2 (got 1)"),
        ["fan-in 0"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(0, new ConcatOperator()).WriteTo("out"),
            "the fan-in must be at least 2 (got 0)"),
        ["fan-in -5"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(-5, new ConcatOperator()).WriteTo("out"),
            "the fan-in must be at least 2 (got -5)"),
        ["neither fan-in nor widths"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(new ReduceTreeOptions(), new ConcatOperator()).WriteTo("out"),
            "the reduce tree needs a fan-in or a list of widths"),
        ["both fan-in and widths"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(new ReduceTreeOptions { FanIn = 2, Widths = [2, 1] }, new ConcatOperator()).WriteTo("out"),
            "the reduce tree takes a fan-in or a list of widths, not both"),
        ["empty widths"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(Array.Empty<int>(), new ConcatOperator()).WriteTo("out"),
            "the list of widths is empty"),
        ["growing widths"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree([8, 16, 1], new ConcatOperator()).WriteTo("out"),
            "widths must strictly decrease, but level 2 has 16 after 8"),
        ["repeated widths"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree([64, 64, 1], new ConcatOperator()).WriteTo("out"),
            "widths must strictly decrease, but level 2 has 64 after 64"),
        ["repeated final 1"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree([4, 1, 1], new ConcatOperator()).WriteTo("out"),
            "widths must strictly decrease, but level 3 has 1 after 1"),
        ["widths not ending in 1"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree([16, 4, 2], new ConcatOperator()).WriteTo("out"),
            "widths must end in 1 (a single final task), but the last is 2"),
        ["zero width"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree([4, 0], new ConcatOperator()).WriteTo("out"),
            "width 0 at level 2 is not positive"),
        ["negative width"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree([-3], new ConcatOperator()).WriteTo("out"),
            "width -3 at level 1 is not positive"),
        ["invalid operator name"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(2, new TestOperator("my op")).WriteTo("out"),
            "operator name 'my op' is not valid: use 1 to 63 ASCII letters"),
        ["empty operator name"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(2, new TestOperator("")).WriteTo("out"),
            "operator name '' is not valid"),
        ["output key with '..'"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("../x"),
            "invalid object key '../x': it has a '..' segment"),
        ["output key ending in '/'"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("a/"),
            "invalid object key 'a/': it ends in '/'"),
        ["empty output key"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo(""),
            "invalid object key '': it is empty"),
        ["output under the input prefix"] = (() => Job.Named(JobName).FromPrefix("data/").ReduceTree(2, new ConcatOperator()).WriteTo("data/merged"),
            "the output key 'data/merged' lies under the input prefix 'data/'"),
        ["output under a prefix without '/'"] = (() => Job.Named(JobName).FromPrefix("in").ReduceTree(2, new ConcatOperator()).WriteTo("inputs-merged"),
            "the output key 'inputs-merged' lies under the input prefix 'in'"),
        ["output under the empty prefix"] = (() => Job.Named(JobName).FromPrefix("").ReduceTree(2, new ConcatOperator()).WriteTo("out"),
            "the output key 'out' lies under the input prefix ''"),
        ["output is an input key"] = (() => Job.Named(JobName).FromKeys(["a", "b"]).ReduceTree(2, new ConcatOperator()).WriteTo("b"),
            "the output key 'b' is also one of the inputs"),
        ["output under the reserved prefix"] = (() => Job.Named(JobName).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("_dataflow/out"),
            "the output key '_dataflow/out' lies under '_dataflow/'"),
        ["input prefix under the reserved prefix"] = (() => Job.Named(JobName).FromPrefix("_dataflow/runs/").ReduceTree(2, new ConcatOperator()).WriteTo("out"),
            "the input prefix '_dataflow/runs/' lies under '_dataflow/'"),
        ["input prefix equal to the reserved prefix"] = (() => Job.Named(JobName).FromPrefix("_dataflow/").ReduceTree(2, new ConcatOperator()).WriteTo("out"),
            "the input prefix '_dataflow/' lies under '_dataflow/'"),
        ["input key under the reserved prefix"] = (() => Job.Named(JobName).FromKeys(["in/a", "_dataflow/runs/r/plan.json"]).ReduceTree(2, new ConcatOperator()).WriteTo("out"),
            "input '_dataflow/runs/r/plan.json' lies under '_dataflow/'"),
        ["invalid input prefix"] = (() => Job.Named(JobName).FromPrefix("/abs/").ReduceTree(2, new ConcatOperator()).WriteTo("out"),
            "invalid object key '/abs/': it is absolute"),
        ["invalid input key"] = (() => Job.Named(JobName).FromKeys(["in/a", "in//b"]).ReduceTree(2, new ConcatOperator()).WriteTo("out"),
            "invalid object key 'in//b': it has an empty segment"),
    };

    public static TheoryData<string> InvalidDefinitions => new(s_invalid.Keys);

    [Theory]
    [MemberData(nameof(InvalidDefinitions))]
    public void WriteTo_InvalidDefinition_ThrowsNamingJobAndProblem(string definition)
    {
        var (build, problem) = s_invalid[definition];

        var ex = Assert.Throws<JobDefinitionException>(build);

        Assert.Equal(JobName, ex.JobName);
        Assert.StartsWith($"job '{JobName}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<ArgumentException>(ex);
    }

    [Fact]
    public void WriteTo_OutputBesideThePrefix_Accepted()
    {
        // "in/" does not list "input.txt", and a key merely named like the reserved folder is not reserved.
        var job = Job.Named(JobName).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("input.txt");
        var reservedLookalike = Job.Named(JobName).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("_dataflow");

        Assert.Equal("input.txt", job.OutputKey);
        Assert.Equal("_dataflow", reservedLookalike.OutputKey);
    }

    [Fact]
    public void ReduceTree_NullArguments_ThrowArgumentNullException()
    {
        var builder = Job.Named(JobName).FromPrefix("in/");

        Assert.Throws<ArgumentNullException>(() => builder.ReduceTree(2, null!));
        Assert.Throws<ArgumentNullException>(() => builder.ReduceTree((ReduceTreeOptions)null!, new ConcatOperator()));
        Assert.Throws<ArgumentNullException>(() => builder.FromPrefix(null!));
        Assert.Throws<ArgumentNullException>(() => builder.FromKeys(null!));
        Assert.Throws<ArgumentNullException>(() => builder.ReduceTree(2, new ConcatOperator()).WriteTo(null!));
    }
}
