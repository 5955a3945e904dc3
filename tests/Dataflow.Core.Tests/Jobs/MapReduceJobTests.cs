namespace Dataflow.Core.Tests.Jobs;

public sealed class MapReduceJobTests
{
    private const string JobName = "word-count";

    private sealed class NoMapper<TKey> : NoMapper<TKey, long>
        where TKey : notnull;

    private sealed class NoReducer<TKey> : NoReducer<TKey, long>
        where TKey : notnull;

    private class NoMapper<TKey, TValue> : Mapper<TKey, TValue>
        where TKey : notnull
    {
        public override void Map(ReadOnlySpan<char> record, MapOutput<TKey, TValue> output) => throw new InvalidOperationException("never runs");
    }

    private class NoReducer<TKey, TValue> : Reducer<TKey, TValue, long>
        where TKey : notnull
    {
        public override long Reduce(TKey key, IReadOnlyList<TValue> values) => throw new InvalidOperationException("never runs");
    }

    private static MapReduceSpec<string, long, long> Spec(int reducers = 4, long splitSize = 1 << 20, int maxObjects = 10, long mapMemory = 1 << 20, long reduceMemory = 1 << 20, string? merged = null) => new()
    {
        Mapper = new NoMapper<string>(),
        Reducer = new NoReducer<string>(),
        Reducers = reducers,
        SplitSize = splitSize,
        MaxObjectsPerSplit = maxObjects,
        MapMemory = mapMemory,
        ReduceMemory = reduceMemory,
        MergedOutputKey = merged,
    };

    [Fact]
    public void WriteTo_MapReduce_BuildsStepWithMapAndReduceOperators()
    {
        var job = Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(reducers: 7, splitSize: 4096, maxObjects: 3)).WriteTo("out");

        var step = Assert.IsType<MapReduceStep>(job.MapReduce);
        Assert.Null(job.Tree);
        Assert.True(job.OutputIsPrefix);
        Assert.Equal("out/", job.OutputKey);
        Assert.Equal(7, step.Reducers);
        Assert.Equal(4096, step.SplitSize);
        Assert.Equal(3, step.MaxObjectsPerSplit);
        Assert.Null(step.MergedOutputKey);
        Assert.Equal(["map", "reduce"], job.Operators.Keys.Order(StringComparer.Ordinal));
        Assert.Same(step.Map, job.ResolveOperator("map"));
        Assert.Same(step.Reduce, job.ResolveOperator("reduce"));
        Assert.IsType<MapOperator<string, long>>(step.Map);
        Assert.IsType<ReduceOperator<string, long, long>>(step.Reduce);
    }

    [Fact]
    public void WriteTo_MapReduceWithMergedOutput_AddsConcatOperator()
    {
        var job = Job.Named(JobName).FromKeys(["a.txt", "b.txt"]).MapReduce(Spec(merged: "result/all.tsv")).WriteTo("result/parts/");

        Assert.Equal("result/parts/", job.OutputKey);
        Assert.Equal("result/all.tsv", job.MapReduce!.MergedOutputKey);
        Assert.Equal(["concat", "map", "reduce"], job.Operators.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void PartNames_AreFiveDigitPartitionNumbers()
    {
        Assert.Equal("p00000", MapReduceStep.PartitionName(0));
        Assert.Equal("p00042", MapReduceStep.PartitionName(42));
        Assert.Equal("out/part-00000", MapReduceStep.PartKey("out/", 0));
        Assert.Equal("out/part-99999", MapReduceStep.PartKey("out/", 99_999));
        Assert.Equal("out/part-100000", MapReduceStep.PartKey("out/", 100_000));
    }

    /// <summary>Each invalid map-reduce definition with the problem its message must state.</summary>
    private static readonly Dictionary<string, (Func<Job> Build, string Problem)> s_invalid = new()
    {
        ["no reducers"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(reducers: 0)).WriteTo("out"),
            "the number of reducers must be at least 1 (got 0)"),
        ["negative reducers"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(reducers: -3)).WriteTo("out"),
            "the number of reducers must be at least 1 (got -3)"),
        ["too many reducers"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(reducers: 100_001)).WriteTo("out"),
            "the number of reducers must be at most 100,000 (got 100001)"),
        ["tiny split"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(splitSize: 1023)).WriteTo("out"),
            "the split size must be at least 1 KiB (got 1023 bytes)"),
        ["no objects per split"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(maxObjects: 0)).WriteTo("out"),
            "a split must be allowed at least one object (got 0)"),
        ["tiny map memory"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(mapMemory: 65535)).WriteTo("out"),
            "the map memory must be at least 64 KiB"),
        ["tiny reduce memory"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(reduceMemory: (128 * 1024) - 1)).WriteTo("out"),
            "the reduce memory at least 128 KiB"),
        ["output prefix under the input prefix"] = (() => Job.Named(JobName).FromPrefix("data/").MapReduce(Spec()).WriteTo("data/counts"),
            "the output key 'data/counts/' lies under the input prefix 'data/'"),
        ["output prefix is the input prefix"] = (() => Job.Named(JobName).FromPrefix("data/").MapReduce(Spec()).WriteTo("data"),
            "the output key 'data/' lies under the input prefix 'data/'"),
        ["merged output under the input prefix"] = (() => Job.Named(JobName).FromPrefix("data/").MapReduce(Spec(merged: "data/all")).WriteTo("out"),
            "the output key 'data/all' lies under the input prefix 'data/'"),
        ["merged output is an input"] = (() => Job.Named(JobName).FromKeys(["a", "b"]).MapReduce(Spec(merged: "b")).WriteTo("out"),
            "the output key 'b' is also one of the inputs"),
        ["invalid merged output"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec(merged: "a//b")).WriteTo("out"),
            "invalid object key 'a//b'"),
        ["empty output prefix"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec()).WriteTo(""),
            "invalid object key ''"),
        ["reserved output prefix"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec()).WriteTo("_dataflow/counts"),
            "lies under '_dataflow/'"),
        ["output prefix is the reserved folder"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(Spec()).WriteTo("_dataflow"),
            "the output prefix '_dataflow/' lies under '_dataflow/'"),
        ["an input under the output prefix"] = (() => Job.Named(JobName).FromKeys(["in/a", "out/part-00000"]).MapReduce(Spec()).WriteTo("out"),
            "input 'out/part-00000' lies under the output prefix 'out/'"),
        ["no input"] = (() => Job.Named(JobName).MapReduce(Spec()).WriteTo("out"),
            "no input: call FromPrefix or FromKeys"),
        ["key type without a codec"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(new MapReduceSpec<Guid, long, long> { Mapper = new NoMapper<Guid>(), Reducer = new NoReducer<Guid>() }).WriteTo("out"),
            "the key type Guid has no built-in record codec (there are for string, long, int, double, float and byte[]): set MapReduceSpec.KeyCodec"),
        ["value type without a codec"] = (() => Job.Named(JobName).FromPrefix("in/").MapReduce(new MapReduceSpec<string, (double, long), long> { Mapper = new NoMapper<string, (double, long)>(), Reducer = new NoReducer<string, (double, long)>() }).WriteTo("out"),
            "the value type (double, long) has no built-in record codec (there are for string, long, int, double, float and byte[]): set MapReduceSpec.ValueCodec; compose one"),
    };

    public static TheoryData<string> InvalidDefinitions => new(s_invalid.Keys);

    [Theory]
    [MemberData(nameof(InvalidDefinitions))]
    public void WriteTo_InvalidMapReduce_ThrowsNamingJobAndProblem(string definition)
    {
        var (build, problem) = s_invalid[definition];

        var ex = Assert.Throws<JobDefinitionException>(build);

        Assert.Equal(JobName, ex.JobName);
        Assert.StartsWith($"job '{JobName}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteTo_InputsBesideTheOutputPrefix_Accepted()
    {
        // Keys that merely start like the prefix, and an input prefix under the output prefix (no part lands there).
        var byKeys = Job.Named(JobName).FromKeys(["out", "outer/a", "out-b"]).MapReduce(Spec()).WriteTo("out");
        var byPrefix = Job.Named(JobName).FromPrefix("out/in/").MapReduce(Spec()).WriteTo("out");
        var lookalike = Job.Named(JobName).FromPrefix("in/").MapReduce(Spec()).WriteTo("_dataflowish");

        Assert.Equal("out/", byKeys.OutputKey);
        Assert.Equal("out/", byPrefix.OutputKey);
        Assert.Equal("_dataflowish/", lookalike.OutputKey);
    }

    [Fact]
    public void WriteTo_KeyTypeWithItsOwnCodec_Accepted()
    {
        var job = Job.Named(JobName).FromPrefix("in/").MapReduce(new MapReduceSpec<Guid, long, long>
        {
            Mapper = new NoMapper<Guid>(),
            Reducer = new NoReducer<Guid>(),
            KeyCodec = new GuidCodec(),
        }).WriteTo("out");

        Assert.Equal(1, job.MapReduce!.Reducers);
    }

    [Fact]
    public void MapReduce_ThenReduceTree_LastStepWins()
    {
        var job = Job.Named(JobName).FromPrefix("in/").MapReduce(Spec()).ReduceTree(2, new ConcatOperator()).WriteTo("out");

        Assert.Null(job.MapReduce);
        Assert.NotNull(job.Tree);
        Assert.False(job.OutputIsPrefix);
        Assert.Equal("out", job.OutputKey);
    }

    private sealed class GuidCodec : RecordCodec<Guid>
    {
        public override void Write(Guid value, System.Buffers.IBufferWriter<byte> output)
        {
            value.TryWriteBytes(output.GetSpan(16));
            output.Advance(16);
        }

        public override Guid Read(ReadOnlySpan<byte> bytes) => new(bytes);
    }
}
