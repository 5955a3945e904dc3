using System.Globalization;
using System.Text;

namespace Dataflow.Core.Tests.Records;

/// <summary>The map and reduce operators on in-memory inputs, with budgets small enough to spill to local disk.</summary>
[Collection(SpillCollection.Name)]
public sealed class MapReduceOperatorTests : IDisposable
{
    private const int Partitions = 3;
    private const long SmallMap = 64 * 1024;
    private const long SmallReduce = 2 * ReduceOperator<string, long, long>.ReadBuffer;
    private const long Big = 64L << 20;

    private static readonly string[] s_names = Enumerable.Range(0, Partitions).Select(MapReduceStep.PartitionName).ToArray();

    private readonly PrivateTempPath _temp = new();

    public void Dispose() => _temp.Dispose();

    private static MapReduceTypes<string, long> Types(ICombiner<long>? combiner) =>
        new(RecordCodecs.Utf8String, RecordCodecs.Varint64, StringComparer.Ordinal, new HashPartitioner<string>(), combiner);

    /// <summary>About 40,000 words over 5,000 distinct ones, in lines of up to 12 words.</summary>
    private static byte[] Text(int seed, int lines = 6000)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            var words = random.Next(0, 13);
            for (var w = 0; w < words; w++)
            {
                // Skewed: a few words are common, most are rare.
                var id = random.Next(3) == 0 ? random.Next(20) : random.Next(5000);
                text.Append(w == 0 ? "" : " ").Append(id % 7 == 0 ? "wörd" : "word").Append(id.ToString(CultureInfo.InvariantCulture));
            }

            text.Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static Dictionary<string, long> Count(params byte[][] texts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (var word in Encoding.UTF8.GetString(text).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
            {
                counts[word] = counts.GetValueOrDefault(word) + 1;
            }
        }

        return counts;
    }

    private static async Task<List<(string Key, long Value)>> ReadRunAsync(byte[] run)
    {
        var records = new List<(string, long)>();
        await using var reader = new SortedRunReader<string, long>(new MemoryStream(run), RecordCodecs.Utf8String, RecordCodecs.Varint64, "run");
        while (await reader.MoveNextAsync(CancellationToken.None))
        {
            records.Add((reader.Key, reader.Value));
        }

        return records;
    }

    /// <summary>Runs a map task over <paramref name="inputs"/>; returns each partition's run.</summary>
    private static async Task<Dictionary<string, byte[]>> MapAsync(ICombiner<long>? combiner, long budget, params BytesInput[] inputs)
    {
        var context = new MemoryTaskContext(inputs, s_names);
        await new MapOperator<string, long>(Types(combiner), new SpaceWordMapper(), budget).ExecuteAsync(context, CancellationToken.None);
        return context.Partitioned!.Slices();
    }

    private static async Task CheckRunsAsync(Dictionary<string, byte[]> runs, Dictionary<string, long> expected, bool combined)
    {
        Assert.Equal(s_names, runs.Keys);
        var total = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var p = 0; p < Partitions; p++)
        {
            var records = await ReadRunAsync(runs[s_names[p]]);
            Assert.True(records.Select(r => r.Key).SequenceEqual(records.Select(r => r.Key).Order(StringComparer.Ordinal)), $"partition {p} is not sorted");
            Assert.All(records, r => Assert.Equal(p, new HashPartitioner<string>().Partition(r.Key, Encoding.UTF8.GetBytes(r.Key), Partitions)));
            if (combined)
            {
                Assert.Equal(records.Count, records.Select(r => r.Key).Distinct().Count());
            }

            foreach (var (key, value) in records)
            {
                total[key] = total.GetValueOrDefault(key) + value;
            }
        }

        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), total.OrderBy(e => e.Key, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MapBuffer_SmallBudget_SpillsAndWritesTheSameRunsAsABigBudget(bool withCombiner)
    {
        var combiner = withCombiner ? new SumCombiner() : null;
        var text = Text(1);
        var expected = Count(text);

        var small = new MapBuffer<string, long>(Types(combiner), Partitions, SmallMap);
        var big = new MapBuffer<string, long>(Types(combiner), Partitions, Big);
        var smallOutput = new MemoryPartitionedOutput();
        var bigOutput = new MemoryPartitionedOutput();
        using (small)
        using (big)
        {
            foreach (var line in Encoding.UTF8.GetString(text).Split('\n'))
            {
                new SpaceWordMapper().Map(line, small);
                new SpaceWordMapper().Map(line, big);
            }

            Assert.True(small.Spills >= 3, $"{small.Spills} spills");
            Assert.Equal(0, big.Spills);
            Assert.NotEmpty(_temp.Leftovers());

            await small.WriteAsync(smallOutput, s_names, CancellationToken.None);
            await big.WriteAsync(bigOutput, s_names, CancellationToken.None);
        }

        // The same bytes: spills merged back (and combined) give exactly the runs of one sort in memory.
        Assert.Equal(bigOutput.Slices(), smallOutput.Slices());
        await CheckRunsAsync(smallOutput.Slices(), expected, combined: withCombiner);
        Assert.Empty(_temp.Leftovers());
    }

    [Fact]
    public async Task MapBuffer_IntKeysWithCombiner_AggregatesByKey()
    {
        var types = new MapReduceTypes<int, long>(RecordCodecs.Varint32, RecordCodecs.Varint64, Comparer<int>.Default, new HashPartitioner<int>(), new SumCombiner());
        var output = new MemoryPartitionedOutput();
        using (var buffer = new MapBuffer<int, long>(types, 1, SmallMap))
        {
            for (var i = 0; i < 50_000; i++)
            {
                buffer.Emit(i % 2000 - 1000, 1);
            }

            Assert.True(buffer.Spills > 0);
            await buffer.WriteAsync(output, ["p0"], CancellationToken.None);
        }

        var records = new List<(int, long)>();
        await using (var reader = new SortedRunReader<int, long>(new MemoryStream(output.Slices()["p0"]), RecordCodecs.Varint32, RecordCodecs.Varint64, "run"))
        {
            while (await reader.MoveNextAsync(CancellationToken.None))
            {
                records.Add((reader.Key, reader.Value));
            }
        }

        Assert.Equal(Enumerable.Range(-1000, 2000).Select(k => (k, 25L)), records);
        using var other = new MapBuffer<int, long>(types, 1, SmallMap);
        Assert.Throws<NotSupportedException>(() => other.EmitText("x", 1));
    }

    [Fact]
    public async Task MapOperator_SplitsOfSeveralObjects_RunsHoldEveryWordOnce()
    {
        var a = Text(2);
        var b = Text(3, lines: 500);

        // Object a cut into two splits at an arbitrary byte, object b whole, a third empty object.
        var first = await MapAsync(new SumCombiner(), SmallMap, new BytesInput("in/a.txt", a, 0, 70_001));
        var second = await MapAsync(new SumCombiner(), SmallMap, new BytesInput("in/a.txt", a, 70_001, a.Length - 70_001), new BytesInput("in/b.txt", b), new BytesInput("in/c.txt", []));

        var merged = s_names.ToDictionary(n => n, n => (byte[])[.. first[n], .. second[n]], StringComparer.Ordinal);
        var total = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var run in merged.Values)
        {
            foreach (var (key, value) in await ReadRunAsync(run))
            {
                total[key] = total.GetValueOrDefault(key) + value;
            }
        }

        Assert.Equal(Count(a, b).OrderBy(e => e.Key, StringComparer.Ordinal), total.OrderBy(e => e.Key, StringComparer.Ordinal));
        Assert.Empty(_temp.Leftovers());
    }

    [Fact]
    public async Task MapOperator_MapperThrows_ErrorNamesTaskJobObjectAndByteOffset()
    {
        var data = Encoding.UTF8.GetBytes("fine line\nanother fine one\nthis is poison\nnever read\n");
        var context = new MemoryTaskContext([new BytesInput("in/ok.txt", "ok\n"u8.ToArray()), new BytesInput("in/bad.txt", data, 5, data.Length - 5)], s_names, new TaskId(0, 7));
        var op = new MapOperator<string, long>(Types(new SumCombiner()), new PoisonMapper(), SmallMap);

        var ex = await Assert.ThrowsAsync<RecordProcessingException>(() => op.ExecuteAsync(context, CancellationToken.None).AsTask());

        Assert.Equal("map task 0/7 of job 'records-test': the mapper failed on the record at byte 27 of 'in/bad.txt': poison in 'this is poison'", ex.Message);
        Assert.IsType<FormatException>(ex.InnerException);
        Assert.Null(context.Partitioned);
    }

    [Fact]
    public async Task MapOperator_SpillingMapperThrows_SpillFolderRemoved()
    {
        var text = Text(4);
        var poisoned = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(text) + "poison\n");
        var context = new MemoryTaskContext([new BytesInput("in/big.txt", poisoned)], s_names);
        var op = new MapOperator<string, long>(Types(new SumCombiner()), new PoisonMapper(), SmallMap);

        var ex = await Assert.ThrowsAsync<RecordProcessingException>(() => op.ExecuteAsync(context, CancellationToken.None).AsTask());

        Assert.Contains($"at byte {text.Length} of 'in/big.txt'", ex.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(_temp.SpillRoot), "the task spilled before it failed");
        Assert.Empty(_temp.Leftovers());
    }

    /// <summary>Map outputs of <paramref name="tasks"/> map tasks over disjoint slices of a text, for partition 0.</summary>
    private static async Task<(RunInput[] Runs, Dictionary<string, long> Expected)> MapRunsAsync(int tasks, ICombiner<long>? combiner)
    {
        var runs = new List<RunInput>();
        var texts = new List<byte[]>();
        for (var t = 0; t < tasks; t++)
        {
            var text = Text(100 + t, lines: 800);
            texts.Add(text);
            var slices = await MapAsync(combiner, Big, new BytesInput($"in/{t}.txt", text));
            runs.Add(new RunInput($"0/{t}:p00000", slices[s_names[0]]));
        }

        var expected = Count([.. texts])
            .Where(e => new HashPartitioner<string>().Partition(e.Key, Encoding.UTF8.GetBytes(e.Key), Partitions) == 0)
            .ToDictionary(StringComparer.Ordinal);
        return ([.. runs], expected);
    }

    private static string Lines(IEnumerable<KeyValuePair<string, long>> counts) =>
        string.Concat(counts.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}\t{e.Value}\n"));

    [Theory]
    [InlineData(9, true, 3)]
    [InlineData(9, false, 3)]
    [InlineData(2, true, 0)]
    [InlineData(3, true, 1)]
    [InlineData(17, true, 4)]
    public async Task ReduceOperator_MoreRunsThanTheFanIn_MergesInPassesToTheSameOutput(int runCount, bool withCombiner, int passes)
    {
        var combiner = withCombiner ? new SumCombiner() : null;
        var (runs, expected) = await MapRunsAsync(runCount, combiner);
        var small = new ReduceOperator<string, long, long>(Types(combiner), new SumReducer(), SmallReduce);
        var big = new ReduceOperator<string, long, long>(Types(combiner), new SumReducer(), Big);
        var smallContext = new MemoryTaskContext(runs, ["out"], new TaskId(1, 0));
        var bigContext = new MemoryTaskContext(runs, ["out"], new TaskId(1, 0));

        await small.ExecuteAsync(smallContext, CancellationToken.None);
        await big.ExecuteAsync(bigContext, CancellationToken.None);

        Assert.Equal(2, small.FanIn(smallContext));
        Assert.Equal(passes, small.LastSpillPasses);
        Assert.Equal(0, big.LastSpillPasses);
        Assert.Equal(Lines(expected), smallContext.Text("out"));
        Assert.Equal(bigContext.Text("out"), smallContext.Text("out"));
        Assert.Equal(passes > 0, Directory.Exists(_temp.SpillRoot));
        Assert.Empty(_temp.Leftovers());
    }

    [Fact]
    public async Task ReduceOperator_MoreRunsThanItMayHoldOpen_MergesInPassesWhateverItsMemory()
    {
        // A store whose reads share a pool of connections (S3) bounds the inputs a task may hold open: a reducer with
        // memory for every run must still not open more than that at once, or reducers running together could each
        // hold part of the pool and wait for the rest for ever.
        var (runs, expected) = await MapRunsAsync(12, new SumCombiner());
        var op = new ReduceOperator<string, long, long>(Types(new SumCombiner()), new SumReducer(), Big);
        var context = new MemoryTaskContext(runs, ["out"], new TaskId(1, 0)) { OpenInputs = 4 };

        await op.ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(4, op.FanIn(context));
        Assert.Equal(1, op.LastSpillPasses); // 12 runs in 3 groups of 4, then those 3
        Assert.Equal(Lines(expected), context.Text("out"));
    }

    [Fact]
    public async Task ReduceOperator_EmptyRuns_WritesAnEmptyOutput()
    {
        var context = new MemoryTaskContext([new RunInput("0/0:p00000", []), new RunInput("0/1:p00000", []), new RunInput("0/2:p00000", [])], ["out"]);
        var op = new ReduceOperator<string, long, long>(Types(new SumCombiner()), new SumReducer(), SmallReduce);

        await op.ExecuteAsync(context, CancellationToken.None);

        Assert.Equal("", context.Text("out"));
        Assert.Equal(1, op.LastSpillPasses);
        Assert.Empty(_temp.Leftovers());
    }

    [Fact]
    public async Task ReduceOperator_ReducerThrows_ErrorNamesTaskJobAndKey()
    {
        var (runs, expected) = await MapRunsAsync(5, new SumCombiner());
        var bad = expected.Keys.Order(StringComparer.Ordinal).ElementAt(expected.Count / 2);
        var context = new MemoryTaskContext(runs, ["out"], new TaskId(1, 2));
        var op = new ReduceOperator<string, long, long>(Types(new SumCombiner()), new FailingReducer(bad), SmallReduce);

        var ex = await Assert.ThrowsAsync<RecordProcessingException>(() => op.ExecuteAsync(context, CancellationToken.None).AsTask());

        Assert.Equal($"reduce task 1/2 of job 'records-test': the reducer failed on key '{bad}': no '{bad}' please", ex.Message);
        Assert.Empty(_temp.Leftovers());
    }

    [Theory]
    [InlineData("in/bad.txt.gz")]
    [InlineData("in/bad.txt.zst")]
    public async Task MapOperator_MapperThrowsInACompressedObject_ErrorSaysTheOffsetCountsDecompressedBytes(string key)
    {
        var data = Encoding.UTF8.GetBytes("fine line\nanother fine one\nthis is poison\n");
        var context = new MemoryTaskContext([new BytesInput(key, LineSplitReaderTests.Compress(key, data))], s_names, new TaskId(0, 2));
        var op = new MapOperator<string, long>(Types(new SumCombiner()), new PoisonMapper(), SmallMap);

        var ex = await Assert.ThrowsAsync<RecordProcessingException>(() => op.ExecuteAsync(context, CancellationToken.None).AsTask());

        Assert.Equal($"map task 0/2 of job 'records-test': the mapper failed on the record at byte 27 of the decompressed bytes of '{key}': poison in 'this is poison'", ex.Message);
    }

    private sealed class PoisonMapper : Mapper<string, long>
    {
        public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output)
        {
            if (record.Contains("poison", StringComparison.Ordinal))
            {
                throw new FormatException($"poison in '{record}'");
            }

            new SpaceWordMapper().Map(record, output);
        }
    }

    private sealed class FailingReducer(string badKey) : Reducer<string, long, long>
    {
        public override long Reduce(string key, IReadOnlyList<long> values) =>
            key == badKey ? throw new InvalidOperationException($"no '{key}' please") : values.Sum();
    }
}
