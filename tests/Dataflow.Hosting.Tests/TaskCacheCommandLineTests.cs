using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Dataflow.Hosting.Tests;

/// <summary>
/// The task cache as a program's user meets it: <c>--cache</c> on <c>run</c>, the run's summary on stderr,
/// <c>status</c> of a run that took tasks from the cache, and <c>gc --cache</c>.
/// </summary>
public sealed partial class TaskCacheCommandLineTests : ConsoleTests
{
    // 8 inputs merged with fan-in 2: 4, 2 and 1 tasks, each with a cache key (ConcatOperator declares a version).
    // Every merge writes its bytes (no references to its pieces), so the cache holds data: the 6 intermediate outputs.
    private static readonly int[] s_stageTasks = [4, 2, 1];

    [GeneratedRegex(@"task cache: (\d+) entries and (\d+) objects \([^)]*\) before, (\d+) entries and (\d+) objects \([^)]*\) after; deleted (\d+) entries and (\d+) objects")]
    private static partial Regex TrimLine();

    private string CacheFolder => Path.Combine(StorePath, "_dataflow", "cache");

    private string OutputPath => Path.Combine(StorePath, "output", "merged.txt");

    private static readonly ConcatenationOptions s_copying = new() { MinReferenceSegmentBytes = long.MaxValue };

    /// <summary>A program merging 8 inputs; its operator declares no version (so no task has a key) when <paramref name="versioned"/> is false.</summary>
    private static DataflowApp CreateApp(bool versioned = true)
    {
        var app = new DataflowApp("cache-merge", "Merges things, with the task cache, for tests.", defaultOutput: "output/merged.txt");
        app.DefineJob(context =>
        {
            IObjectOperator op = versioned ? new ConcatOperator(s_copying) : new ScriptedOperator(new ConcatOperator(s_copying), (_, _, _, _) => ValueTask.CompletedTask);
            return Job.Named("cache-merge").FromPrefix(context.InputPrefix).ReduceTree(2, op).WriteTo(context.OutputKey);
        });
        app.BeforeRun(async (context, token) =>
        {
            if ((await context.Store.ListAllAsync(context.InputPrefix, token)).Count == 0)
            {
                await Inputs.WriteAsync(context.Store, 8, size: 3, prefix: context.InputPrefix);
            }
        });
        return app;
    }

    /// <summary>Runs the program with fresh <see cref="ConsoleTests.Out"/> and <see cref="ConsoleTests.Error"/>.</summary>
    private async Task<int> RunAsync(DataflowApp app, params string[] args)
    {
        Out.GetStringBuilder().Clear();
        Error.GetStringBuilder().Clear();
        return await app.RunAsync(args, Console, CancellationToken.None);
    }

    /// <summary>Runs the job with <c>--cache on</c> as run <paramref name="runId"/>; asserts that it succeeded.</summary>
    private async Task<JsonElement> RunCachedAsync(string runId, params string[] more)
    {
        var code = await RunAsync(CreateApp(), ["--store", StorePath, "--cache", "on", "--overwrite", "--run-id", runId, "--json", "--progress", "none", .. more]);
        Assert.True(code == ExitCodes.Success, Error.ToString());
        using var json = JsonDocument.Parse(Out.ToString());
        return json.RootElement.Clone();
    }

    /// <summary>The file of the entry the cold run wrote for <paramref name="task"/>.</summary>
    private string EntryOf(TaskId task) =>
        Directory.GetFiles(Path.Combine(CacheFolder, "entries"), "*.json", SearchOption.AllDirectories)
            .Single(f => RunRecords.DeserializeCacheEntry(File.ReadAllBytes(f), f).Task == task);

    private int CountFiles(string sub) =>
        Directory.Exists(Path.Combine(CacheFolder, sub)) ? Directory.GetFiles(Path.Combine(CacheFolder, sub), "*", SearchOption.AllDirectories).Length : 0;

    private byte[] InputsConcatenated() =>
        [.. Directory.GetFiles(Path.Combine(StorePath, "input")).Order(StringComparer.Ordinal).SelectMany(File.ReadAllBytes)];

    /// <summary>A one-line usage error of the program that says <paramref name="expected"/>, and no store made.</summary>
    private void AssertUsageErrorWroteNothing(int code, string expected)
    {
        Assert.Equal(ExitCodes.Usage, code);
        var line = Assert.Single(ErrorLines);
        Assert.StartsWith("cache-merge: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(StorePath), "nothing may be written for a usage error");
        Assert.Equal(string.Empty, Out.ToString());
    }

    private static int[] Ints(Match match) => [.. match.Groups.Values.Skip(1).Select(g => int.Parse(g.Value, CultureInfo.InvariantCulture))];

    [Theory]
    [InlineData("on", CacheMode.On)]
    [InlineData("off", CacheMode.Off)]
    [InlineData("read-only", CacheMode.ReadOnly)]
    [InlineData("Read-Only", CacheMode.ReadOnly)]
    public async Task Run_CacheOption_RecordedInThePlan(string value, CacheMode expected)
    {
        var code = await RunAsync(CreateApp(), "--store", StorePath, "--cache", value, "--run-id", "parsed");

        Assert.True(code == ExitCodes.Success, Error.ToString());
        var plan = await JobRunner.LoadPlanAsync(ObjectStore.OpenFolder(StorePath), "parsed");
        Assert.Equal(expected, plan!.Cache);
        // Only a run with the cache on adds to it.
        Assert.Equal(expected == CacheMode.On ? s_stageTasks.Sum() : 0, CountFiles("entries"));
    }

    [Theory]
    [InlineData("maybe")]
    [InlineData("yes")]
    [InlineData("")]
    [InlineData("1")]
    public async Task Run_CacheBadValue_OneLineUsageErrorNamingTheOptionAndTheChoices(string value)
    {
        var code = await RunAsync(CreateApp(), "--store", StorePath, "--cache", value);

        AssertUsageErrorWroteNothing(code, $"--cache: '{value}' is not one of: on, off, read-only");
        Assert.DoesNotContain("System.", Error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_CacheHashInputsWithoutTheCache_UsageError()
    {
        var code = await RunAsync(CreateApp(), "--store", StorePath, "--cache-hash-inputs");

        AssertUsageErrorWroteNothing(code, "--cache-hash-inputs fingerprints the inputs for the task cache: give it with --cache on or read-only");
    }

    [Fact]
    public async Task Run_CacheHashInputs_WarmRunTakesEveryTask()
    {
        await RunCachedAsync("cold", "--cache-hash-inputs");
        // The inputs touched: same bytes, other modification times, so only a hash of the bytes finds them unchanged.
        foreach (var input in Directory.GetFiles(Path.Combine(StorePath, "input")))
        {
            File.SetLastWriteTimeUtc(input, File.GetLastWriteTimeUtc(input).AddMinutes(-3));
        }

        var warm = await RunCachedAsync("warm", "--cache-hash-inputs");

        Assert.Equal(7, warm.GetProperty("tasksCached").GetInt32());
        Assert.Equal(InputsConcatenated(), await File.ReadAllBytesAsync(OutputPath));
    }

    [Theory]
    [InlineData("on")]
    [InlineData("read-only")]
    public async Task Plan_CacheNotOff_UsageErrorInsteadOfAPlanThatIgnoresIt(string value)
    {
        var code = await RunAsync(CreateApp(), "plan", "--emit", "json", "--store", StorePath, "--cache", value, "--run-id", "emitted");

        AssertUsageErrorWroteNothing(code, "plan: --cache is for 'run'");
    }

    [Fact]
    public async Task Plan_CacheOff_EmitsThePlan()
    {
        var code = await RunAsync(CreateApp(), "plan", "--emit", "json", "--store", StorePath, "--cache", "off", "--run-id", "emitted");

        Assert.True(code == ExitCodes.Success, Error.ToString());
        Assert.Equal(CacheMode.Off, (await JobRunner.LoadPlanAsync(ObjectStore.OpenFolder(StorePath), "emitted"))!.Cache);
    }

    [Fact]
    public async Task Help_Cache_ShowsTheChoicesAndTheDefaultOff()
    {
        var code = await RunAsync(CreateApp(), "run", "--help");

        Assert.Equal(ExitCodes.Success, code);
        var lines = Out.ToString().Split('\n');
        var cache = Assert.Single(lines, l => l.TrimStart().StartsWith("--cache ", StringComparison.Ordinal));
        Assert.Contains("on|off|read-only", cache, StringComparison.Ordinal);
        Assert.Contains("[default: off]", cache, StringComparison.Ordinal);
        Assert.Single(lines, l => l.TrimStart().StartsWith("--cache-hash-inputs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_CacheOnTwice_SummaryLinesSayWhatTheCacheDid()
    {
        var cold = await RunCachedAsync("cold");
        var coldErrors = Error.ToString();
        var warm = await RunCachedAsync("warm");
        var warmErrors = Error.ToString();

        Assert.Contains("(7 run, 0 skipped, 0 cached,", coldErrors, StringComparison.Ordinal);
        Assert.Contains("cache-merge: task cache (on): 0 of 7 tasks with a key taken from it (0, 0, 0 by stage); 7 entries added, 0 found not usable", coldErrors, StringComparison.Ordinal);
        Assert.Contains("(0 run, 0 skipped, 7 cached,", warmErrors, StringComparison.Ordinal);
        Assert.Contains("cache-merge: task cache (on): 7 of 7 tasks with a key taken from it (4, 2, 1 by stage); 0 entries added, 0 found not usable", warmErrors, StringComparison.Ordinal);

        Assert.Equal(0, cold.GetProperty("tasksCached").GetInt32());
        Assert.Equal(7, warm.GetProperty("tasksCached").GetInt32());
        Assert.Equal(0, warm.GetProperty("tasksRun").GetInt32());
        var cache = warm.GetProperty("cache");
        Assert.Equal("on", cache.GetProperty("mode").GetString());
        Assert.Equal(s_stageTasks, cache.GetProperty("tasksCached").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(InputsConcatenated(), await File.ReadAllBytesAsync(OutputPath));
    }

    [Fact]
    public async Task Run_CacheOff_NoCacheLineAndNoCacheInTheSummary()
    {
        var code = await RunAsync(CreateApp(), "--store", StorePath, "--json");

        Assert.True(code == ExitCodes.Success, Error.ToString());
        Assert.DoesNotContain("task cache", Error.ToString(), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(Out.ToString());
        Assert.Equal(0, json.RootElement.GetProperty("tasksCached").GetInt32());
        Assert.True(!json.RootElement.TryGetProperty("cache", out var cache) || cache.ValueKind == JsonValueKind.Null, Out.ToString());
        Assert.False(Directory.Exists(CacheFolder), "a run without the cache wrote under _dataflow/cache/");
    }

    [Fact]
    public async Task Run_CacheReadOnly_TakesFromTheCacheAndAddsNothing()
    {
        await RunCachedAsync("cold");
        var entries = Directory.GetFiles(Path.Combine(CacheFolder, "entries"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        // The final task's: it runs, reading its two inputs from the cache (the four below them are not needed).
        File.Delete(EntryOf(new TaskId(2, 0)));

        var code = await RunAsync(CreateApp(), "--store", StorePath, "--cache", "read-only", "--overwrite", "--json");

        Assert.True(code == ExitCodes.Success, Error.ToString());
        Assert.Contains("task cache (read-only): 6 of 7 tasks with a key taken from it", Error.ToString(), StringComparison.Ordinal);
        Assert.Contains("; 0 entries added, 0 found not usable", Error.ToString(), StringComparison.Ordinal);
        Assert.Equal(entries.Count - 1, CountFiles("entries"));
    }

    [Fact]
    public async Task Run_DamagedEntry_SummarySaysWhichEntryWasNotUsedAndWhy()
    {
        await RunCachedAsync("cold");
        // The final task's entry: the one a rerun looks up first (those below only if it is not usable).
        var entry = EntryOf(new TaskId(2, 0));
        await File.WriteAllTextAsync(entry, "{ not json");

        var warm = await RunCachedAsync("warm");

        Assert.Equal(1, warm.GetProperty("tasksRun").GetInt32());
        Assert.Equal(6, warm.GetProperty("tasksCached").GetInt32());
        var key = Path.GetFileNameWithoutExtension(entry);
        Assert.Contains("task cache (on): 6 of 7 tasks with a key taken from it", Error.ToString(), StringComparison.Ordinal);
        Assert.Contains("; 1 entries added, 1 found not usable", Error.ToString(), StringComparison.Ordinal);
        var reason = Assert.Single(ErrorLines, l => l.Contains("not used:", StringComparison.Ordinal));
        Assert.StartsWith("cache-merge:   task ", reason, StringComparison.Ordinal);
        Assert.Contains($"cache entry {key[..12]}… not used: ", reason, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", reason, StringComparison.Ordinal);
        Assert.Equal(1, warm.GetProperty("cache").GetProperty("entriesInvalid").GetInt32());
    }

    [Fact]
    public async Task Run_OperatorWithoutVersion_SummarySaysWhyNoTaskHasAKey()
    {
        var code = await RunAsync(CreateApp(versioned: false), "--store", StorePath, "--cache", "on");

        Assert.True(code == ExitCodes.Success, Error.ToString());
        Assert.Contains("task cache (on): 0 of 0 tasks with a key taken from it", Error.ToString(), StringComparison.Ordinal);
        Assert.Contains("cache-merge:   operator 'concat' declares no Version", ErrorLines);
        Assert.Equal(0, CountFiles("entries"));
    }

    [Fact]
    public async Task Status_RunWithCachedTasks_SaysHowManyCameFromTheCachePerStage()
    {
        await RunCachedAsync("cold");
        await RunCachedAsync("warm");

        Assert.Equal(ExitCodes.Success, await RunAsync(CreateApp(), "status", "warm", "--store", StorePath));
        var warm = Out.ToString();
        Assert.Equal(ExitCodes.Success, await RunAsync(CreateApp(), "status", "cold", "--store", StorePath));
        var cold = Out.ToString();

        for (var s = 0; s < s_stageTasks.Length; s++)
        {
            var n = s_stageTasks[s];
            Assert.Matches($@"  stage {s} '[^']*': {n}/{n} committed \({n} from the task cache\)\n", warm);
            Assert.Matches($@"  stage {s} '[^']*': {n}/{n} committed\n", cold);
        }

        Assert.Contains("0 run, 0 skipped, 7 cached, 0 failed", warm, StringComparison.Ordinal);
        Assert.DoesNotContain("task cache", cold, StringComparison.Ordinal);
        Assert.DoesNotContain("cached", cold, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_Json_HasCachedPerStage()
    {
        await RunCachedAsync("cold");
        await RunCachedAsync("warm");

        Assert.Equal(ExitCodes.Success, await RunAsync(CreateApp(), "status", "warm", "--store", StorePath, "--json"));
        using var warm = JsonDocument.Parse(Out.ToString());
        Assert.Equal(ExitCodes.Success, await RunAsync(CreateApp(), "status", "cold", "--store", StorePath, "--json"));
        using var cold = JsonDocument.Parse(Out.ToString());

        var warmStages = warm.RootElement.GetProperty("stages").EnumerateArray().ToList();
        var coldStages = cold.RootElement.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(s_stageTasks, warmStages.Select(s => s.GetProperty("cached").GetInt32()));
        Assert.Equal(s_stageTasks, warmStages.Select(s => s.GetProperty("committed").GetInt32()));
        Assert.Equal([0, 0, 0], coldStages.Select(s => s.GetProperty("cached").GetInt32()));
        Assert.Equal(s_stageTasks, coldStages.Select(s => s.GetProperty("committed").GetInt32()));
    }

    [Theory]
    [InlineData("gc --cache trims the task cache: it takes no run id and no --keep-data", "--cache", "some-run")]
    [InlineData("gc --cache trims the task cache: it takes no run id and no --keep-data", "--cache", "--run-id", "some-run")]
    [InlineData("gc --cache trims the task cache: it takes no run id and no --keep-data", "--cache", "--keep-data")]
    [InlineData("gc: --max-size and --max-age bound the task cache; give them with --cache", "--max-size", "1GiB")]
    [InlineData("gc: --max-size and --max-age bound the task cache; give them with --cache", "--max-size", "0", "some-run")]
    [InlineData("gc: --max-size and --max-age bound the task cache; give them with --cache", "--max-age", "7d", "--run-id", "some-run")]
    [InlineData("--max-size: ", "--cache", "--max-size", "lots")]
    [InlineData("--max-age: ", "--cache", "--max-age", "forever")]
    [InlineData("--max-age: must be a duration such as 7d or 12h (for no age bound, leave --max-age out)", "--cache", "--max-age", "infinite")]
    public async Task Gc_CacheMisused_OneLineUsageErrorAndNothingDeleted(string expected, params string[] args)
    {
        await RunCachedAsync("cold");
        var (entries, data) = (CountFiles("entries"), CountFiles("data"));

        var code = await RunAsync(CreateApp(), ["gc", "--store", StorePath, .. args]);

        Assert.Equal(ExitCodes.Usage, code);
        var line = Assert.Single(ErrorLines);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal((entries, data), (CountFiles("entries"), CountFiles("data")));
        Assert.True(Directory.Exists(Path.Combine(StorePath, "_dataflow", "runs", "cold")));
    }

    [Fact]
    public async Task Gc_CacheUnbounded_KeepsWhatEntriesUseAndSaysSo()
    {
        await RunCachedAsync("cold");
        var (entries, data) = (CountFiles("entries"), CountFiles("data"));

        var code = await RunAsync(CreateApp(), "gc", "--cache", "--store", StorePath);

        Assert.True(code == ExitCodes.Success, Error.ToString());
        var numbers = Ints(Assert.Single(ErrorLines.Select(l => TrimLine().Match(l)), m => m.Success));
        Assert.Equal([entries, data, entries, data, 0, 0], numbers);
        Assert.Equal((7, 6), (entries, data));
        Assert.Equal((entries, data), (CountFiles("entries"), CountFiles("data")));
    }

    [Fact]
    public async Task Gc_CacheMaxSizeZero_DeletesEveryCachedObject_AndALaterRunNeedsOnlyTheFinalTasksEntry()
    {
        await RunCachedAsync("cold");
        var expected = InputsConcatenated();
        Assert.Equal(expected, await File.ReadAllBytesAsync(OutputPath));
        var (entries, data) = (CountFiles("entries"), CountFiles("data"));
        Assert.Equal((7, 6), (entries, data));

        var code = await RunAsync(CreateApp(), "gc", "--cache", "--max-size", "0", "--store", StorePath);

        // Every entry that owns a cached object goes; the final task's stays: its output is the published one, which
        // the cache does not hold (deleting its entry would free nothing).
        Assert.True(code == ExitCodes.Success, Error.ToString());
        var numbers = Ints(Assert.Single(ErrorLines.Select(l => TrimLine().Match(l)), m => m.Success));
        Assert.Equal([entries, data, 1, 0, entries - 1, data], numbers);
        Assert.Equal((1, 0), (CountFiles("entries"), CountFiles("data")));
        var left = Directory.GetFiles(Path.Combine(CacheFolder, "entries"), "*.json", SearchOption.AllDirectories).Single();
        var entry = RunRecords.DeserializeCacheEntry(await File.ReadAllBytesAsync(left), left);
        Assert.Equal((new TaskId(2, 0), "output/merged.txt"), (entry.Task, Assert.Single(entry.Outputs).Key));
        // The runs' own records stay: gc --cache trims the cache, not runs.
        Assert.True(File.Exists(Path.Combine(StorePath, "_dataflow", "runs", "cold", "plan.json")));

        var again = await RunCachedAsync("again");

        // The final task's entry is all a rerun needs: the published output is still there, so nothing below it runs.
        Assert.Equal((0, 7), (again.GetProperty("tasksRun").GetInt32(), again.GetProperty("tasksCached").GetInt32()));
        Assert.Equal(expected, await File.ReadAllBytesAsync(OutputPath));
        Assert.Equal((1, 0), (CountFiles("entries"), CountFiles("data")));
    }

    [Fact]
    public async Task Gc_CacheMaxAgeInDays_KeepsEntriesYoungerThanThat()
    {
        await RunCachedAsync("cold");
        var (entries, data) = (CountFiles("entries"), CountFiles("data"));

        var code = await RunAsync(CreateApp(), "gc", "--cache", "--max-age", "7d", "--store", StorePath);

        Assert.True(code == ExitCodes.Success, Error.ToString());
        Assert.Equal([entries, data, entries, data, 0, 0], Ints(Assert.Single(ErrorLines.Select(l => TrimLine().Match(l)), m => m.Success)));
        Assert.Equal((entries, data), (CountFiles("entries"), CountFiles("data")));
    }
}
