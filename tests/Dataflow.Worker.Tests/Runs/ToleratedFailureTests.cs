using System.Globalization;
using System.IO.Compression;
using System.Text;
using Dataflow.Worker.Tests.Caching;

namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// Tolerated failures (<see cref="JobRunnerOptions.MaxFailedInputs"/>): map tasks that fail for good within the budget
/// are committed as failed and the run ends partial; beyond it, or in a stage that does not tolerate, the run fails.
/// </summary>
public sealed class ToleratedFailureTests : IDisposable
{
    private const string OutputPrefix = "output/counts/";
    private const int Reducers = 3;

    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;

    public ToleratedFailureTests() => _store = ObjectStore.OpenFolder(_folder.Path);

    public void Dispose() => _folder.Dispose();

    private static JobRunnerOptions Options(FailureTolerance tolerance, CacheMode cache = CacheMode.Off) => new()
    {
        Concurrency = 2,
        MaxAttempts = 3,
        RetryDelay = TimeSpan.FromMilliseconds(1),
        MaxFailedInputs = tolerance,
        Cache = cache,
    };

    /// <summary>A word count whose map tasks each read one object (so a failed task loses exactly its object).</summary>
    private static Job WordCount(Reducer<string, long, long>? reducer = null, string? version = null) =>
        Job.Named("tolerate-test").FromPrefix("input/").MapReduce(new MapReduceSpec<string, long, long>
        {
            Mapper = new CacheTestJobs.WordMapper(),
            Combiner = new CacheTestJobs.Sum(),
            Reducer = reducer ?? new CacheTestJobs.SumReducer(),
            Reducers = Reducers,
            SplitSize = 1L << 20,
            MaxObjectsPerSplit = 1,
            MapVersion = version,
            ReduceVersion = version,
        }).WriteTo(OutputPrefix);

    private static string Text(int seed, int lines)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            text.AppendJoin(' ', Enumerable.Range(0, random.Next(1, 9)).Select(_ => "w" + random.Next(200).ToString(CultureInfo.InvariantCulture))).Append('\n');
        }

        return text.ToString();
    }

    private static byte[] Gzip(string text)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return compressed.ToArray();
    }

    /// <summary>
    /// Writes <paramref name="objects"/> inputs, every fourth a valid gzip object, and <paramref name="corrupt"/> more
    /// that are gzip objects with their deflate data overwritten; returns the texts of the good ones and the corrupt keys.
    /// </summary>
    private async Task<(List<string> Good, List<string> Corrupt)> WriteInputsAsync(int objects, int corrupt)
    {
        var good = new List<string>();
        for (var i = 0; i < objects; i++)
        {
            var text = Text(i, 40);
            good.Add(text);
            await _store.PutAsync(i % 4 == 0 ? $"input/{i:D3}.gz" : $"input/{i:D3}.txt", i % 4 == 0 ? Gzip(text) : Encoding.UTF8.GetBytes(text));
        }

        var bad = new List<string>();
        for (var i = 0; i < corrupt; i++)
        {
            var bytes = Gzip(Text(1000 + i, 40));
            bytes.AsSpan(10, bytes.Length - 18).Fill(0xFF);
            var key = $"input/bad-{i}.gz";
            await _store.PutAsync(key, bytes);
            bad.Add(key);
        }

        return (good, bad);
    }

    private static Dictionary<string, long> Count(IEnumerable<string> texts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var word in texts.SelectMany(t => t.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)))
        {
            counts[word] = counts.GetValueOrDefault(word) + 1;
        }

        return counts;
    }

    private async Task<Dictionary<string, long>> ReadCountsAsync()
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var r = 0; r < Reducers; r++)
        {
            var part = Encoding.UTF8.GetString(await _store.ReadAllBytesAsync(MapReduceStep.PartKey(OutputPrefix, r)));
            foreach (var line in part.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var tab = line.IndexOf('\t', StringComparison.Ordinal);
                counts.Add(line[..tab], long.Parse(line[(tab + 1)..], CultureInfo.InvariantCulture));
            }
        }

        return counts;
    }

    private async Task AssertNothingLeftAsync(RunSummary summary)
    {
        Assert.Equal(0, summary.IntermediateObjectsLeft);
        Assert.Empty(await _store.ListAllAsync(new RunLayout(summary.RunId).DataPrefix));
    }

    [Fact]
    public async Task Run_CorruptGzipWithinBudget_SucceedsPartialListingThemWithTheOthersCounts()
    {
        var (good, corrupt) = await WriteInputsAsync(20, 3);

        var result = await new JobRunner(_store, Options(FailureTolerance.Inputs(5))).RunAsync(WordCount());

        var summary = result.Summary;
        Assert.Equal("succeeded", summary.Status);
        Assert.True(summary.Partial);
        Assert.Equal(corrupt, summary.FailedInputs);
        Assert.Equal(3, summary.TasksTolerated);
        Assert.Equal(3, summary.Failed);

        // Corrupt gzip is a permanent failure: one attempt each, no retries.
        Assert.Equal(0, summary.Retries);
        Assert.Equal(summary.Tasks - 3, summary.TasksRun);
        Assert.Equal(Count(good), await ReadCountsAsync());
        await AssertNothingLeftAsync(summary);

        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(new RunLayout(summary.RunId).ReportKey));
        var tolerated = report.Tolerated!;
        Assert.Equal(corrupt, tolerated.SelectMany(t => t.Inputs));
        Assert.All(tolerated, t => Assert.Equal("map", t.StageName));
        Assert.All(tolerated, t => Assert.Contains("is not valid gzip data", t.Error, StringComparison.Ordinal));
        var html = Encoding.UTF8.GetString(await _store.ReadAllBytesAsync(new RunLayout(summary.RunId).ReportHtmlKey));
        Assert.Contains("Partial success: 3 inputs failed", html, StringComparison.Ordinal);
        Assert.All(corrupt, key => Assert.Contains($"<code class=\"failed-input\">{key}</code>", html, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_CorruptGzipWithDefaultBudget_FailsNamingTheObject()
    {
        var (_, corrupt) = await WriteInputsAsync(6, 1);

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Options(FailureTolerance.None)).RunAsync(WordCount()));

        Assert.Contains($"input '{corrupt[0]}') failed permanently after 1 attempt (not retried)", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"'{corrupt[0]}' is not valid gzip data", failure.Message, StringComparison.Ordinal);
        Assert.False(failure.Summary.Partial);
        Assert.Null(failure.Summary.FailedInputs);
        Assert.Empty(await _store.ListAllAsync("output/"));
    }

    [Theory]
    [InlineData("2", false)]
    [InlineData("3", true)]
    [InlineData("20%", false)]
    [InlineData("30%", true)]
    public async Task Run_MoreFailedThanTheBudget_FailsNamingATaskAndItsInput(string budget, bool succeeds)
    {
        // 7 good and 3 corrupt inputs: 10 in all, so 20% allows 2 and 30% allows 3.
        var (_, corrupt) = await WriteInputsAsync(7, 3);
        var runner = new JobRunner(_store, Options(FailureTolerance.Parse(budget)));

        if (succeeds)
        {
            var result = await runner.RunAsync(WordCount());
            Assert.True(result.Summary.Partial);
            Assert.Equal(corrupt, result.Summary.FailedInputs);
            return;
        }

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => runner.RunAsync(WordCount()));
        var task = Assert.IsType<TaskFailedException>(failure.InnerException);
        Assert.Equal(0, task.Task.Stage);
        Assert.Contains(task.Inputs.Single().Trim('\''), corrupt);
        Assert.Contains($"input {task.Inputs.Single()}) failed permanently", failure.Message, StringComparison.Ordinal);
        Assert.EndsWith($"(the failure budget is spent: 3 inputs would have failed, more than --max-failed-inputs {budget} allows (2))", task.Message, StringComparison.Ordinal);
        Assert.Equal("failed", failure.Summary.Status);
        Assert.False(failure.Summary.Partial);
        Assert.Equal(2, failure.Summary.FailedInputs?.Count);
    }

    [Fact]
    public async Task Run_ReduceTaskFails_FailsTheRunDespiteTheBudget()
    {
        await WriteInputsAsync(4, 0);

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Options(FailureTolerance.Inputs(100))).RunAsync(WordCount(new FailingReducer())));

        var task = Assert.IsType<TaskFailedException>(failure.InnerException);
        Assert.Equal(1, task.Task.Stage);
        Assert.False(failure.Summary.Partial);
        Assert.Equal(0, failure.Summary.TasksTolerated);
    }

    [Fact]
    public async Task Run_ReduceTreeTask_NotToleratedUnlessItsOperatorDeclaresIt()
    {
        var expected = await Inputs.WriteAsync(_store, 8);
        var fails = (TaskId task) => task == new TaskId(0, 1);
        var tree = (bool tolerates) => Job.Named("tree").FromPrefix("input/").ReduceTree(2, new FailingOperator(new ConcatOperator(), fails, tolerates)).WriteTo("output/merged.txt");

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Options(FailureTolerance.Inputs(8))).RunAsync(tree(false)));
        Assert.Equal(new TaskId(0, 1), Assert.IsType<TaskFailedException>(failure.InnerException).Task);

        var plan = (await PlanStore.LoadAsync(_store, failure.Summary.RunId))!;
        var lost = plan.GetTask(new TaskId(0, 1)).Inputs.Select(i => i.Key!).ToList();
        var result = await new JobRunner(_store, Options(FailureTolerance.Inputs(8)) with { Overwrite = true }).RunAsync(tree(true));
        Assert.True(result.Summary.Partial);
        Assert.Equal(lost.Order(StringComparer.Ordinal), result.Summary.FailedInputs);
        var kept = new StringBuilder();
        foreach (var key in (await _store.ListAllAsync("input/")).Select(o => o.Key).Where(k => !lost.Contains(k)))
        {
            kept.Append(Encoding.UTF8.GetString(await _store.ReadAllBytesAsync(key)));
        }

        Assert.Equal(kept.ToString(), Encoding.UTF8.GetString(await _store.ReadAllBytesAsync("output/merged.txt")));
        Assert.NotEqual(Inputs.Text(expected), kept.ToString());
        await AssertNothingLeftAsync(result.Summary);
    }

    [Fact]
    public async Task Resume_AfterAPartialRunFailedLater_ReplaysTheToleratedFailureAndListsItsInputs()
    {
        var (good, corrupt) = await WriteInputsAsync(8, 2);
        var reducer = new FailingReducer();
        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Options(FailureTolerance.Inputs(2))).RunAsync(WordCount(reducer)));
        Assert.Equal(1, Assert.IsType<TaskFailedException>(failure.InnerException).Task.Stage);
        Assert.Equal(corrupt, failure.Summary.FailedInputs);

        reducer.Fail = false;
        var result = await new JobRunner(_store, Options(FailureTolerance.None)).ResumeAsync(WordCount(reducer), failure.Summary.RunId);

        var summary = result.Summary;
        Assert.True(summary.Partial);
        Assert.Equal(corrupt, summary.FailedInputs);
        Assert.Equal(2, summary.TasksTolerated);
        Assert.Equal(0, summary.Failed);
        Assert.Equal(10, summary.TasksSkipped);
        Assert.Equal(Reducers, summary.TasksRun);
        Assert.Equal(Count(good), await ReadCountsAsync());
        await AssertNothingLeftAsync(summary);
    }

    [Fact]
    public async Task Run_WithTheCacheAfterAPartialRun_NeverTakesAPartialResultFromIt()
    {
        var (good, corrupt) = await WriteInputsAsync(6, 1);
        var partial = await new JobRunner(_store, Options(FailureTolerance.Inputs(1), CacheMode.On)).RunAsync(WordCount(version: "1"));
        Assert.True(partial.Summary.Partial);

        // The corrupt object mended: a full run must count it, though every map task but its own is in the cache.
        var mended = Text(77, 40);
        await _store.PutAsync(corrupt[0], Gzip(mended));
        var full = await new JobRunner(_store, Options(FailureTolerance.None, CacheMode.On) with { Overwrite = true }).RunAsync(WordCount(version: "1"));

        Assert.False(full.Summary.Partial);
        Assert.Null(full.Summary.FailedInputs);
        Assert.Equal(6, full.Summary.TasksCached);
        Assert.Equal(1 + Reducers, full.Summary.TasksRun);
        Assert.Equal(Count([.. good, mended]), await ReadCountsAsync());
    }

    private sealed class FailingReducer : Reducer<string, long, long>
    {
        public bool Fail { get; set; } = true;

        public override long Reduce(string key, IReadOnlyList<long> values) =>
            Fail ? throw new PermanentTaskException("the reducer is broken") : values.Sum();
    }

    /// <summary>Fails the tasks <paramref name="fails"/> picks, permanently; declares that it tolerates failed tasks or not.</summary>
    private sealed class FailingOperator(IObjectOperator inner, Func<TaskId, bool> fails, bool tolerates) : IObjectOperator
    {
        public string Name => inner.Name;

        public bool ToleratesFailedTasks => tolerates;

        public ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken) =>
            fails(context.TaskId) ? throw new PermanentTaskException($"task {context.TaskId} is broken") : inner.ExecuteAsync(context, cancellationToken);
    }
}
