using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// Word-count style map-reduce jobs run end to end on a local folder store: budgets small enough to spill map output
/// and to merge reduce input in passes give the same parts as big ones; bad input fails with an error that says where.
/// </summary>
/// <remarks>
/// Runs alone (not beside other tests of this assembly), because it points the temporary folder, where tasks spill,
/// at a folder of its own to see the spills come and go.
/// </remarks>
[Collection(MapReduceRunCollection.Name)]
public sealed class MapReduceRunTests : IDisposable
{
    private const string JobName = "word-count-test";
    private const string OutputPrefix = "output/counts/";
    private const long SmallSplit = 64 * 1024;
    private const long SmallMapMemory = 64 * 1024;
    private const long SmallReduceMemory = 128 * 1024;
    private const long Big = 64L << 20;

    private readonly TempFolder _folder = new();
    private readonly TempFolder _temp = new();
    private readonly string? _previousTemp = Environment.GetEnvironmentVariable("TMPDIR");
    private readonly IObjectStore _store;

    public MapReduceRunTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
        Environment.SetEnvironmentVariable("TMPDIR", _temp.Path);
        Assert.Equal(Path.TrimEndingDirectorySeparator(_temp.Path), Path.TrimEndingDirectorySeparator(Path.GetTempPath()));
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("TMPDIR", _previousTemp);
        _temp.Dispose();
        _folder.Dispose();
    }

    private string SpillRoot => Path.Combine(_temp.Path, "dataflow-spill");

    private string[] SpillLeftovers() => Directory.Exists(SpillRoot) ? Directory.GetFileSystemEntries(SpillRoot, "*", SearchOption.AllDirectories) : [];

    private static JobRunnerOptions Options(int attempts = 2) => new()
    {
        Concurrency = 2,
        MaxAttempts = attempts,
        RetryDelay = TimeSpan.FromMilliseconds(1),
        TaskTimeout = TimeSpan.FromMinutes(2),
    };

    private static Job WordCount(
        long splitSize, long mapMemory, long reduceMemory, int reducers = 3, bool combine = true, string output = OutputPrefix, string? merged = null, Mapper<string, long>? mapper = null) =>
        Job.Named(JobName).FromPrefix("input/").MapReduce(new MapReduceSpec<string, long, long>
        {
            Mapper = mapper ?? new WordMapper(),
            Combiner = combine ? new Sum() : null,
            Reducer = new SumReducer(),
            Reducers = reducers,
            SplitSize = splitSize,
            MaxObjectsPerSplit = 4,
            MapMemory = mapMemory,
            ReduceMemory = reduceMemory,
            MergedOutputKey = merged,
        }).WriteTo(output);

    /// <summary>Lines of up to 12 words over a vocabulary of 6,000 (some non-ASCII), a few words much more common than the rest.</summary>
    private static string Text(int seed, int lines, string newline = "\n")
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            var words = random.Next(0, 13);
            for (var w = 0; w < words; w++)
            {
                var id = random.Next(3) == 0 ? random.Next(30) : random.Next(6000);
                text.Append(w == 0 ? "" : " ").Append(id % 5 == 0 ? "größe" : id % 5 == 1 ? "字" : "word").Append(id.ToString(CultureInfo.InvariantCulture));
            }

            text.Append(newline);
        }

        return text.ToString();
    }

    /// <summary>
    /// Writes the inputs — large and small text objects, LF and CRLF, an empty one, a gzip and a zstd object larger
    /// than a small split — and returns the texts they hold.
    /// </summary>
    private async Task<List<string>> WriteInputsAsync()
    {
        var texts = new Dictionary<string, string>
        {
            ["input/a.txt"] = Text(1, 5000),
            ["input/b.txt"] = Text(2, 1500, "\r\n") + "last line without newline",
            ["input/c.txt"] = "just a few words\nwords words\n",
            ["input/d.txt"] = "",
            ["input/e.gz"] = Text(3, 2000),
            ["input/f.zst"] = Text(4, 1000),
            ["input/g.txt"] = Text(5, 300),
        };
        foreach (var (key, text) in texts)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            if (key.EndsWith(".gz", StringComparison.Ordinal))
            {
                using var compressed = new MemoryStream();
                using (var gzip = new GZipStream(compressed, CompressionLevel.NoCompression, leaveOpen: true))
                {
                    gzip.Write(bytes);
                }

                bytes = compressed.ToArray();
                Assert.True(bytes.Length > SmallSplit, "the gzip object is larger than a split");
            }
            else if (key.EndsWith(".zst", StringComparison.Ordinal))
            {
                using var compressor = new ZstdSharp.Compressor(1);
                bytes = compressor.Wrap(bytes).ToArray();
            }

            await _store.PutAsync(key, bytes);
        }

        return [.. texts.Values];
    }

    /// <summary>The word counts of <paramref name="texts"/>, as plainly as possible: lines split on '\n', a trailing '\r' dropped, words split on ' '.</summary>
    private static Dictionary<string, long> Count(IEnumerable<string> texts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in texts.SelectMany(t => t.Split('\n')))
        {
            foreach (var word in line.TrimEnd('\r').Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                counts[word] = counts.GetValueOrDefault(word) + 1;
            }
        }

        return counts;
    }

    private async Task<string[]> PartsAsync(int reducers, string prefix = OutputPrefix)
    {
        var listed = await _store.ListAllAsync(prefix);
        Assert.Equal(Enumerable.Range(0, reducers).Select(r => MapReduceStep.PartKey(prefix, r)), listed.Select(o => o.Key));
        var parts = new string[reducers];
        for (var r = 0; r < reducers; r++)
        {
            parts[r] = Encoding.UTF8.GetString(await _store.ReadAllBytesAsync(MapReduceStep.PartKey(prefix, r)));
        }

        return parts;
    }

    /// <summary>Each part holds, in ordinal key order, exactly the words of its partition; together they are <paramref name="expected"/>.</summary>
    private static void CheckParts(string[] parts, Dictionary<string, long> expected)
    {
        var all = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var r = 0; r < parts.Length; r++)
        {
            Assert.True(parts[r].Length == 0 || parts[r].EndsWith('\n'), $"part {r} does not end in a line break");
            var lines = parts[r].Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var keys = lines.Select(l => l[..l.IndexOf('\t', StringComparison.Ordinal)]).ToArray();
            Assert.True(keys.SequenceEqual(keys.Order(StringComparer.Ordinal)), $"part {r} is not in key order");
            foreach (var line in lines)
            {
                var tab = line.IndexOf('\t', StringComparison.Ordinal);
                var key = line[..tab];
                Assert.Equal(r, new HashPartitioner<string>().Partition(key, Encoding.UTF8.GetBytes(key), parts.Length));
                Assert.True(all.TryAdd(key, long.Parse(line[(tab + 1)..], CultureInfo.InvariantCulture)), $"'{key}' is in two parts");
            }
        }

        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), all.OrderBy(e => e.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task RunAsync_SmallBudgets_SpillAndMergeInPassesYetGiveTheSamePartsAsBigOnes()
    {
        var expected = Count(await WriteInputsAsync());

        // Smallest budgets the spec allows: map tasks spill, reducers merge two runs at a time through local disk.
        var small = WordCount(SmallSplit, SmallMapMemory, SmallReduceMemory, output: "output/small/");
        var smallResult = await new JobRunner(_store, Options()).RunAsync(small);
        var spilled = Directory.Exists(SpillRoot);
        var smallLeftovers = SpillLeftovers();

        var big = WordCount(SmallSplit, Big, Big, output: "output/big/");
        await new JobRunner(_store, Options()).RunAsync(big);

        // Large splits as well: fewer, larger map tasks.
        var wide = WordCount(Big, Big, Big, output: "output/wide/");
        var wideResult = await new JobRunner(_store, Options()).RunAsync(wide);

        var smallParts = await PartsAsync(3, "output/small/");
        CheckParts(smallParts, expected);
        Assert.Equal(smallParts, await PartsAsync(3, "output/big/"));
        Assert.Equal(smallParts, await PartsAsync(3, "output/wide/"));

        // Each reducer reads one run per map task, two at a time: passes through disk until two runs are left.
        var mapTasks = smallResult.Plan.Stages[0].Tasks.Count;
        var passes = 0;
        for (var runs = mapTasks; runs > 2; runs = (runs + 1) / 2)
        {
            passes++;
        }

        Assert.True(mapTasks >= 8, $"{mapTasks} map tasks");
        Assert.Equal(2, wideResult.Plan.Stages[0].Tasks.Count); // 7 objects, at most 4 per split
        Assert.True(spilled, "the small budgets spilled to local disk");
        Assert.Equal(passes, ((ReduceOperator<string, long, long>)small.MapReduce!.Reduce).LastSpillPasses);
        Assert.Equal(0, ((ReduceOperator<string, long, long>)big.MapReduce!.Reduce).LastSpillPasses);
        Assert.Empty(smallLeftovers);
        Assert.Empty(SpillLeftovers());
        Assert.Equal(0, smallResult.Summary.IntermediateObjectsLeft);
        Assert.Equal(smallResult.Summary.Tasks, smallResult.Summary.Attempts);
    }

    [Fact]
    public async Task RunAsync_NoCombinerAndSmallMapMemory_MapTasksSpillAndCountsAreRight()
    {
        var expected = Count(await WriteInputsAsync());

        // Reduce memory large enough to merge every run at once: any spill folder is the map tasks'.
        var result = await new JobRunner(_store, Options()).RunAsync(WordCount(SmallSplit, SmallMapMemory, Big, reducers: 2, combine: false));

        CheckParts(await PartsAsync(2), expected);
        Assert.True(Directory.Exists(SpillRoot), "map tasks spilled");
        Assert.Empty(SpillLeftovers());
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
    }

    [Fact]
    public async Task RunAsync_MergedOutput_IsThePartsConcatenatedInOrderAndNoPartIsPublished()
    {
        var expected = Count(await WriteInputsAsync());

        var result = await new JobRunner(_store, Options()).RunAsync(WordCount(SmallSplit, SmallMapMemory, SmallReduceMemory, reducers: 4, merged: "output/all.tsv"));
        var merged = Encoding.UTF8.GetString(await _store.ReadAllBytesAsync("output/all.tsv"));
        await new JobRunner(_store, Options()).RunAsync(WordCount(SmallSplit, Big, Big, reducers: 4));

        Assert.Empty(await _store.ListAllAsync("output/all.tsv/"));
        Assert.Equal(string.Concat(await PartsAsync(4)), merged);
        CheckParts(await PartsAsync(4), expected);
        Assert.Equal(["map", "reduce", "merge"], result.Plan.Stages.Select(s => s.Name));
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
    }

    [Fact]
    public async Task RunAsync_MoreReducersThanWordsAndMapTasksWithoutWords_EveryPartPublishedSomeEmpty()
    {
        // Blank lines over two splits: two map tasks that emit nothing at all.
        await _store.PutAsync("input/blank.txt", Encoding.ASCII.GetBytes(new string('\n', (int)(SmallSplit * 3 / 2))));
        await _store.PutAsync("input/tiny.txt", "one two\ntwo\n"u8.ToArray());

        var result = await new JobRunner(_store, Options()).RunAsync(WordCount(SmallSplit, SmallMapMemory, SmallReduceMemory, reducers: 8));

        Assert.Equal(3, result.Plan.Stages[0].Tasks.Count);
        var parts = await PartsAsync(8);
        CheckParts(parts, new() { ["one"] = 1, ["two"] = 2 });
        Assert.Equal(6, parts.Count(p => p.Length == 0));
    }

    [Fact]
    public async Task RunAsync_MapperThrowsOnOneRecord_FailsNamingTheObjectTheByteOffsetAndTheTask()
    {
        var before = Text(6, 600);
        var text = before + "a record with poison in it\n" + Text(7, 100);
        await _store.PutAsync("input/a.txt", Encoding.UTF8.GetBytes(Text(8, 10)));
        await _store.PutAsync("input/b.txt", Encoding.UTF8.GetBytes(text));
        var offset = Encoding.UTF8.GetByteCount(before);
        var job = WordCount(splitSize: 4096, SmallMapMemory, SmallReduceMemory, mapper: new PoisonMapper());

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Options(attempts: 1)).RunAsync(job));

        // The split that holds the record: b.txt is cut into 4 KiB ranges after a.txt's one task.
        var task = new TaskId(0, 1 + (offset / 4096));
        var plan = (await PlanStore.LoadAsync(_store, failure.Summary.RunId))!;
        var range = Assert.Single(plan.GetTask(task).Inputs);
        Assert.Equal("input/b.txt", range.Key);
        Assert.InRange(offset, range.Offset!.Value, range.Offset.Value + range.Length!.Value - 1);

        Assert.Contains($"task {task} (stage 0 'map', task {task.Index}, operator 'map', input 'input/b.txt' bytes {range.Offset} to {range.Offset + range.Length}) failed after 1 attempt", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"map task {task} of job '{JobName}': the mapper failed on the record at byte {offset} of 'input/b.txt': poison at 'a record with poison in it'", failure.Message, StringComparison.Ordinal);
        var taskFailure = Assert.IsType<TaskFailedException>(failure.InnerException);
        Assert.Equal(task, taskFailure.Task);
        var recordFailure = Assert.IsType<RecordProcessingException>(taskFailure.InnerException);
        Assert.IsType<FormatException>(recordFailure.InnerException);
        Assert.Equal("failed", failure.Summary.Status);
        Assert.Empty(await _store.ListAllAsync("output/"));
        Assert.Empty(SpillLeftovers());
    }

    [Fact]
    public async Task RunAsync_TruncatedGzipInput_FailsNamingTheObjectAndPublishesNothing()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(Text(9, 2000)));
        }

        await _store.PutAsync("input/a.txt", "fine words\n"u8.ToArray());
        await _store.PutAsync("input/b.gz", compressed.ToArray().AsMemory(0, (int)(compressed.Length / 2)));

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Options(attempts: 1)).RunAsync(WordCount(SmallSplit, Big, Big)));

        // Corrupt input is a permanent failure: the same bytes fail again.
        Assert.Contains("(stage 0 'map', task 0, operator 'map', inputs 'input/a.txt', 'input/b.gz') failed permanently after 1 attempt (not retried)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("'input/b.gz' is not valid gzip data", failure.Message, StringComparison.Ordinal);
        Assert.Empty(await _store.ListAllAsync("output/"));
    }

    [Fact]
    public async Task RunAsync_EmptyInputPrefix_ThrowsJobDefinitionExceptionNamingTheJob()
    {
        await _store.PutAsync("elsewhere/a.txt", "words\n"u8.ToArray());

        var ex = await Assert.ThrowsAsync<JobDefinitionException>(() => new JobRunner(_store, Options()).RunAsync(WordCount(SmallSplit, Big, Big)));

        Assert.Equal(JobName, ex.JobName);
        Assert.Equal($"job '{JobName}': the input (prefix 'input/') holds no objects", ex.Message);
        Assert.Empty(await _store.ListAllAsync("output/"));
    }

    [Fact]
    public async Task RunAsync_OutputPrefixAlreadyHoldsAPart_RefusesToRun()
    {
        await _store.PutAsync("input/a.txt", "x y\n"u8.ToArray());
        await _store.PutAsync(OutputPrefix + "part-00007", "stale\n"u8.ToArray());

        var ex = await Assert.ThrowsAsync<JobDefinitionException>(() => new JobRunner(_store, Options()).RunAsync(WordCount(SmallSplit, Big, Big, reducers: 1)));

        Assert.Contains($"the output '{OutputPrefix}part-00007' already exists", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["output/counts/part-00007"], (await _store.ListAllAsync("output/")).Select(o => o.Key));
    }

    private sealed class WordMapper : Mapper<string, long>
    {
        public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output)
        {
            foreach (var range in record.Split(' '))
            {
                if (!record[range].IsEmpty)
                {
                    output.EmitText(record[range], 1);
                }
            }
        }
    }

    private sealed class PoisonMapper : Mapper<string, long>
    {
        private readonly WordMapper _words = new();

        public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output)
        {
            if (record.Contains("poison", StringComparison.Ordinal))
            {
                throw new FormatException($"poison at '{record}'");
            }

            _words.Map(record, output);
        }
    }

    private sealed class Sum : ICombiner<long>
    {
        public long Combine(long first, long second) => first + second;
    }

    private sealed class SumReducer : Reducer<string, long, long>
    {
        public override long Reduce(string key, IReadOnlyList<long> values) => values.Sum();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MapReduceRunCollection
{
    public const string Name = "map-reduce runs";
}
