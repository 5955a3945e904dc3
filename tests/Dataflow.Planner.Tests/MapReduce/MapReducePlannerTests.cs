using System.Globalization;

namespace Dataflow.Planner.Tests.MapReduce;

public sealed class MapReducePlannerTests
{
    private const string JobName = "mr-job";
    private const string RunId = "20261129-024455-3fa2c1";
    private const string OutputPrefix = "out/counts/";
    private static readonly DateTimeOffset s_createdAt = new(2026, 11, 29, 2, 44, 55, TimeSpan.Zero);

    private sealed class NoMapper : Mapper<string, long>
    {
        public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output) => throw new InvalidOperationException("planner tests do not run tasks");
    }

    private sealed class NoReducer : Reducer<string, long, long>
    {
        public override long Reduce(string key, IReadOnlyList<long> values) => throw new InvalidOperationException("planner tests do not run tasks");
    }

    private static Job MapReduceJob(int reducers = 3, long splitSize = 4096, int maxObjects = 1000, string? merged = null) =>
        Job.Named(JobName).FromPrefix("in/").MapReduce(new MapReduceSpec<string, long, long>
        {
            Mapper = new NoMapper(),
            Reducer = new NoReducer(),
            Reducers = reducers,
            SplitSize = splitSize,
            MaxObjectsPerSplit = maxObjects,
            MergedOutputKey = merged,
        }).WriteTo(OutputPrefix);

    private static PlanInput[] Inputs(params long[] sizes) =>
        sizes.Select((size, i) => new PlanInput(string.Create(CultureInfo.InvariantCulture, $"in/obj-{i:D4}.txt"), size)).ToArray();

    private static Plan Plan(Job job, IReadOnlyList<PlanInput> inputs) => JobPlanner.CreatePlan(job, inputs, RunId, s_createdAt);

    private static string Describe(ArtifactRef input) => input.Offset is { } offset ? $"{input.Key}@{offset}+{input.Length}" : input.Key!;

    private static string[][] MapInputs(Plan plan) => plan.Stages[0].Tasks.Select(t => t.Inputs.Select(Describe).ToArray()).ToArray();

    [Fact]
    public void CreatePlan_ObjectLargerThanTheSplitSize_CutIntoRangesThatTileIt()
    {
        var job = MapReduceJob(splitSize: 1024);

        var plan = Plan(job, Inputs((3 * 1024) + 103));

        Assert.Equal(
            [["in/obj-0000.txt@0+1024"], ["in/obj-0000.txt@1024+1024"], ["in/obj-0000.txt@2048+1024"], ["in/obj-0000.txt@3072+103"]],
            MapInputs(plan));
        MapReducePlanChecker.Check(plan, job, "one object of 3 splits and 103 bytes");
    }

    [Theory]
    [InlineData((3 * 1024) + 1, new[] { "in/obj-0000.txt@0+1024", "in/obj-0000.txt@1024+1024", "in/obj-0000.txt@2048+1025" })]
    [InlineData((3 * 1024) + 102, new[] { "in/obj-0000.txt@0+1024", "in/obj-0000.txt@1024+1024", "in/obj-0000.txt@2048+1126" })]
    [InlineData(1024 + 102, new[] { "in/obj-0000.txt" })]
    [InlineData(1024 + 103, new[] { "in/obj-0000.txt@0+1024", "in/obj-0000.txt@1024+103" })]
    public void CreatePlan_TailWithin10PercentOfASplit_JoinsTheLastRange(long size, string[] expected)
    {
        var job = MapReduceJob(splitSize: 1024);

        var plan = Plan(job, Inputs(size));

        Assert.Equal(expected, MapInputs(plan).Select(t => Assert.Single(t)));
        MapReducePlanChecker.Check(plan, job, $"one object of {size} bytes");
    }

    [Fact]
    public void CreatePlan_ObjectOfExactlyNSplits_CutIntoNFullRanges()
    {
        var job = MapReduceJob(splitSize: 1024);

        var plan = Plan(job, Inputs(2048, 1024));

        // 2048 bytes: two ranges; 1024 bytes: not larger than a split, so read whole.
        Assert.Equal([["in/obj-0000.txt@0+1024"], ["in/obj-0000.txt@1024+1024"], ["in/obj-0001.txt"]], MapInputs(plan));
        MapReducePlanChecker.Check(plan, job, "objects of exactly two splits and one split");
    }

    [Fact]
    public void CreatePlan_SmallObjects_GroupedUpToTheSplitSize()
    {
        var job = MapReduceJob(splitSize: 1024);

        var plan = Plan(job, Inputs(400, 400, 224, 1, 1023, 0, 0, 5000, 10));

        Assert.Equal(
            [
                ["in/obj-0000.txt", "in/obj-0001.txt", "in/obj-0002.txt"], // 1024 bytes: exactly full
                ["in/obj-0003.txt", "in/obj-0004.txt", "in/obj-0005.txt", "in/obj-0006.txt"], // 1 + 1023 + 0 + 0
                ["in/obj-0007.txt@0+1024"], ["in/obj-0007.txt@1024+1024"], ["in/obj-0007.txt@2048+1024"], ["in/obj-0007.txt@3072+1024"], ["in/obj-0007.txt@4096+904"],
                ["in/obj-0008.txt"],
            ],
            MapInputs(plan));
        MapReducePlanChecker.Check(plan, job, "small objects");
    }

    [Fact]
    public void CreatePlan_ManyTinyObjects_GroupedUpToMaxObjectsPerSplit()
    {
        var job = MapReduceJob(splitSize: 1 << 20, maxObjects: 3);

        var plan = Plan(job, Inputs(Enumerable.Repeat(10L, 10).ToArray()));

        Assert.Equal([3, 3, 3, 1], plan.Stages[0].Tasks.Select(t => t.Inputs.Count));
        MapReducePlanChecker.Check(plan, job, "ten tiny objects, three per split");
    }

    [Theory]
    [InlineData("in/big.gz")]
    [InlineData("in/big.zst")]
    [InlineData("in/BIG.GZ")]
    public void CreatePlan_LargeCompressedObject_NeverCut(string key)
    {
        var job = MapReduceJob(splitSize: 1024);
        PlanInput[] inputs = [new("in/a.txt", 10), new(key, 100_000), new("in/c.txt", 10)];

        var plan = Plan(job, inputs);

        Assert.Equal([["in/a.txt"], [key], ["in/c.txt"]], MapInputs(plan));
        MapReducePlanChecker.Check(plan, job, key);
    }

    [Fact]
    public void CreatePlan_SmallCompressedObjects_GroupedLikeOthers()
    {
        var job = MapReduceJob(splitSize: 1024);
        PlanInput[] inputs = [new("in/a.gz", 100), new("in/b.zst", 100), new("in/c.txt", 100)];

        var plan = Plan(job, inputs);

        Assert.Equal([["in/a.gz", "in/b.zst", "in/c.txt"]], MapInputs(plan));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(12)]
    public void CreatePlan_RReducers_EachReadsItsPartitionFromEveryMapTaskAndWritesItsPart(int reducers)
    {
        var job = MapReduceJob(reducers: reducers, splitSize: 1024);

        var plan = Plan(job, Inputs(5000, 10, 10, 3000));

        Assert.Equal(["map", "reduce"], plan.Stages.Select(s => s.Name));
        Assert.Equal(reducers, plan.Stages[1].Tasks.Count);
        var mapTasks = Enumerable.Range(0, plan.Stages[0].Tasks.Count).Select(i => new TaskId(0, i)).ToArray();
        for (var r = 0; r < reducers; r++)
        {
            var task = plan.Stages[1].Tasks[r];
            var partition = string.Create(CultureInfo.InvariantCulture, $"p{r:D5}");
            Assert.Equal(mapTasks, task.DependsOn);
            Assert.Equal(mapTasks.Select(t => ArtifactRef.TaskOutput(t, partition)), task.Inputs);
        }

        Assert.Equal(
            Enumerable.Range(0, reducers).Select(r => new PlanOutput(string.Create(CultureInfo.InvariantCulture, $"out/counts/part-{r:D5}"), new TaskId(1, r), "out")),
            plan.Outputs);
        MapReducePlanChecker.Check(plan, job, $"{reducers} reducers");
    }

    [Fact]
    public void CreatePlan_MergedOutput_AddsOneMergeTaskOverAllPartsInOrder()
    {
        var job = MapReduceJob(reducers: 5, merged: "out/all.tsv");

        var plan = Plan(job, Inputs(100, 200));

        Assert.Equal(["map", "reduce", "merge"], plan.Stages.Select(s => s.Name));
        var merge = Assert.Single(plan.Stages[2].Tasks);
        Assert.Equal("concat", merge.Operator);
        Assert.Equal(Enumerable.Range(0, 5).Select(r => ArtifactRef.TaskOutput(new TaskId(1, r), "out")), merge.Inputs);
        Assert.Equal(Enumerable.Range(0, 5).Select(r => new TaskId(1, r)), merge.DependsOn);
        Assert.Equal([new PlanOutput("out/all.tsv", new TaskId(2, 0), "out")], plan.Outputs);
        MapReducePlanChecker.Check(plan, job, "merged");
    }

    [Fact]
    public void CreatePlan_NoInputs_ThrowsNamingTheJob()
    {
        var ex = Assert.Throws<JobDefinitionException>(() => Plan(MapReduceJob(), []));

        Assert.Equal(JobName, ex.JobName);
        Assert.Equal($"job '{JobName}': the input (prefix 'in/') holds no objects", ex.Message);
    }

    [Fact]
    public void CreatePlan_OnlyEmptyObjects_OneMapTaskPerGroup()
    {
        var job = MapReduceJob(maxObjects: 2);

        var plan = Plan(job, Inputs(0, 0, 0));

        Assert.Equal([["in/obj-0000.txt", "in/obj-0001.txt"], ["in/obj-0002.txt"]], MapInputs(plan));
        MapReducePlanChecker.Check(plan, job, "empty objects");
    }

    [Fact]
    public void CreatePlan_RandomInputsAndSettings_PlansHaveEveryProperty()
    {
        var random = new Random(2026);
        for (var i = 0; i < 400; i++)
        {
            var splitSize = random.Next(3) == 0 ? 1024 : random.Next(1024, 20_000);
            var maxObjects = random.Next(3) == 0 ? 1 : random.Next(1, 10);
            var reducers = random.Next(1, 7);
            var merged = random.Next(4) == 0 ? "out/merged.tsv" : null;
            var job = MapReduceJob(reducers, splitSize, maxObjects, merged);
            var inputs = Enumerable.Range(0, random.Next(1, 40)).Select(n => RandomInput(random, n, splitSize)).ToArray();
            var where = $"case {i}: split {splitSize}, max objects {maxObjects}, {reducers} reducers, inputs [{string.Join(", ", inputs.Select(x => $"{x.Key}={x.Size}"))}]";

            var plan = Plan(job, inputs);

            MapReducePlanChecker.Check(plan, job, where);
            Assert.Equal(plan.Stages[0].Tasks.Select(t => t.Inputs), MapReducePlanner.Splits(job.MapReduce!, inputs));
        }
    }

    private static PlanInput RandomInput(Random random, int n, long splitSize)
    {
        var size = random.Next(8) switch
        {
            0 => 0,
            1 => splitSize,
            2 => splitSize + random.Next(-1, 2),
            3 => (splitSize * random.Next(2, 6)) + random.Next(-1, 2),
            4 => random.NextInt64(splitSize, splitSize * 8),
            _ => random.NextInt64(1, splitSize / 3),
        };
        var extension = random.Next(6) switch
        {
            0 => ".gz",
            1 => ".zst",
            _ => ".txt",
        };
        return new PlanInput(string.Create(CultureInfo.InvariantCulture, $"in/{n:D3}{extension}"), size);
    }

    [Fact]
    public void CreatePlan_SameInputsTwice_SamePlan()
    {
        var job = MapReduceJob(reducers: 4, splitSize: 2048, maxObjects: 3);
        var inputs = Inputs(10, 5000, 300, 300, 300, 300, 0, 9000);

        Assert.Equal(PlanJson.Of(Plan(job, inputs)), PlanJson.Of(Plan(job, inputs.ToArray())));
    }
}
