using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Dataflow.EndToEnd.Tests.MergeFiles;

/// <summary>
/// The task cache as users meet it, through the merge-files program run as a process: warm runs, worker processes
/// with the cache, <c>gc --cache</c>, and a run with the cache killed and resumed.
/// </summary>
public sealed partial class MergeFilesCacheTests : IDisposable
{
    private const string Program = "merge-files";

    // Every intermediate merge writes its bytes (no references to its pieces): the cache then holds data.
    private static readonly string[] s_copying = ["--min-reference-size", "1GiB", "--progress", "none", "--json"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public MergeFilesCacheTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [GeneratedRegex(@"task cache: (\d+) entries and (\d+) objects \([^)]*\) before, (\d+) entries and (\d+) objects \([^)]*\) after; deleted (\d+) entries and (\d+) objects")]
    private static partial Regex TrimLine();

    [GeneratedRegex(@"^s(\d+)/t(\d+)\.")]
    private static partial Regex DataFile();

    private string Store(string name) => Path.Combine(_root, name);

    private static string[] FilesUnder(string folder) =>
        Directory.Exists(folder) ? Directory.GetFiles(folder, "*", SearchOption.AllDirectories) : [];

    private static string Entries(string store) => Path.Combine(store, "_dataflow", "cache", "entries");

    private static string CacheData(string store) => Path.Combine(store, "_dataflow", "cache", "data");

    /// <summary>Runs merge-files; asserts that it succeeded and verified its output, and returns its summary.</summary>
    private static async Task<JsonElement> RunVerifiedAsync(params string[] args)
    {
        var result = await ProgramRunner.RunAsync(Program, args);
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
        return json;
    }

    private static (int Run, int Cached, int Skipped) Counts(JsonElement summary) =>
        (summary.GetProperty("tasksRun").GetInt32(), summary.GetProperty("tasksCached").GetInt32(), summary.GetProperty("tasksSkipped").GetInt32());

    private static byte[] InputsConcatenated(string store) =>
        [.. Directory.GetFiles(Path.Combine(store, "input")).Order(StringComparer.Ordinal).SelectMany(File.ReadAllBytes)];

    [Fact]
    public async Task ProcessExecutor_OneInputChangedAfterTwoCachedRuns_NineTasksRunInWorkersWritingUnderTheCache()
    {
        var store = Store("process");
        string[] cached = ["--store", store, "--cache", "on", "--overwrite", .. s_copying];

        var cold = await RunVerifiedAsync(cached);
        var warm = await RunVerifiedAsync(cached);
        Assert.Equal((511, 0, 0), Counts(cold));
        Assert.Equal((0, 511, 0), Counts(warm));

        // One input changed (same size, another letter): the 9 tasks on its path to the output have other keys.
        var changed = Path.Combine(store, "input", "137.txt");
        var letter = File.ReadAllBytes(changed)[0] == (byte)'Q' ? (byte)'R' : (byte)'Q';
        File.WriteAllBytes(changed, [letter]);
        const string RunId = "workers";

        var processes = await RunVerifiedAsync([.. cached, "--executor", "process", "--run-id", RunId]);

        Assert.Equal((9, 502, 0), Counts(processes));
        Assert.Equal(InputsConcatenated(store), File.ReadAllBytes(Path.Combine(store, "output", "merged.txt")));
        Assert.Equal(letter, File.ReadAllBytes(Path.Combine(store, "output", "merged.txt"))[137]);

        // Exactly the 9 tasks of the changed input's path committed attempts of their own, each from a worker process.
        var run = Path.Combine(store, "_dataflow", "runs", RunId);
        var path = Enumerable.Range(0, 9).Select(s => $"{s}/{137 >> (s + 1)}").ToList();
        Assert.Equal(path.Order(StringComparer.Ordinal), CommitFiles.ByTask(Path.Combine(run, "commits")).Keys.Order(StringComparer.Ordinal));
        var report = RunRecords.DeserializeReport(await File.ReadAllBytesAsync(Path.Combine(run, "report.json")));
        Assert.Equal("process", report.Executor);
        var ran = report.Attempts.Where(a => a.Outcome == AttemptOutcomes.Committed).ToList();
        Assert.Equal(path.Order(StringComparer.Ordinal), ran.Select(a => $"{a.Stage}/{a.Task}").Order(StringComparer.Ordinal));
        Assert.All(ran, a => Assert.NotEqual("cache", report.Rows[a.Row]));
        // On the timeline, the path's 8 siblings, taken from the cache; the 494 tasks below them were not needed.
        Assert.Equal(8, report.Attempts.Count(a => a.Outcome == AttemptOutcomes.Cached && report.Rows[a.Row] == "cache"));
        Assert.Equal(502, report.Stages.Sum(s => s.Cached));

        // The workers took the plan's cache mode: their outputs are under the cache's data, kept for later runs, and
        // nothing is under the run's own data.
        var data = FilesUnder(Path.Combine(CacheData(store), RunId)).Select(f => DataFile().Match(Path.GetRelativePath(Path.Combine(CacheData(store), RunId), f))).ToList();
        Assert.All(data, m => Assert.True(m.Success, m.Value));
        Assert.Equal(
            path.Take(8).Order(StringComparer.Ordinal),
            data.Select(m => $"{int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)}/{int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)}").Order(StringComparer.Ordinal));
        Assert.Empty(FilesUnder(Path.Combine(run, "data")));

        // status counts the tasks from the cache per stage.
        var status = await ProgramRunner.RunAsync(Program, "status", RunId, "--store", store, "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal(
            Enumerable.Range(0, 9).Select(s => (256 >> s) - 1),
            status.Json().GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("cached").GetInt32()));
    }

    [Fact]
    public async Task GcCache_BoundedThenToZero_UsageAsListed_AndALaterRunNeedsOnlyTheFinalTasksEntry()
    {
        var store = Store("gc");
        string[] cached = ["--store", store, "--files", "64", "--cache", "on", "--overwrite", .. s_copying];
        Assert.Equal((63, 0, 0), Counts(await RunVerifiedAsync(cached)));
        var output = File.ReadAllBytes(Path.Combine(store, "output", "merged.txt"));
        var entries = FilesUnder(Entries(store)).Length;
        var data = FilesUnder(CacheData(store)).Select(f => new FileInfo(f).Length).ToList();
        Assert.Equal((63, 62), (entries, data.Count));

        // A bound of half the cached bytes: the oldest entries go until the rest fits, then the objects no entry uses.
        var bound = data.Sum() / 2;
        var half = await ProgramRunner.RunAsync(Program, "gc", "--cache", "--max-size", bound.ToString(CultureInfo.InvariantCulture), "--store", store);

        Assert.True(half.ExitCode == 0, half.ToString());
        var halved = TrimNumbers(half);
        Assert.Equal((entries, data.Count), (halved[0], halved[1]));
        var left = FilesUnder(CacheData(store)).Select(f => new FileInfo(f).Length).ToList();
        Assert.Equal((FilesUnder(Entries(store)).Length, left.Count), (halved[2], halved[3]));
        Assert.Equal((entries - halved[2], data.Count - halved[3]), (halved[4], halved[5]));
        Assert.InRange(left.Sum(), 1, bound);
        Assert.InRange(halved[2], 1, entries - 1);

        var empty = await ProgramRunner.RunAsync(Program, "gc", "--cache", "--max-size", "0", "--store", store);

        Assert.True(empty.ExitCode == 0, empty.ToString());
        // What stays is the final task's entry alone: it owns no cached object (its output is the published one).
        Assert.True(TrimNumbers(empty).SequenceEqual([halved[2], halved[3], 1, 0, halved[2] - 1, halved[3]]), $"{half}{Environment.NewLine}{empty}");
        Assert.Single(FilesUnder(Entries(store)));
        Assert.Empty(FilesUnder(CacheData(store)));

        var again = await RunVerifiedAsync(cached);

        // The final task's entry is all a rerun needs (the published output is unchanged): nothing below it runs.
        Assert.Equal((0, 63, 0), Counts(again));
        Assert.Equal(output, File.ReadAllBytes(Path.Combine(store, "output", "merged.txt")));
        Assert.Equal((1, 0), (FilesUnder(Entries(store)).Length, FilesUnder(CacheData(store)).Length));
    }

    private static int[] TrimNumbers(ProgramResult result)
    {
        var match = Assert.Single(result.ErrorLines.Select(l => TrimLine().Match(l)), m => m.Success);
        return [.. match.Groups.Values.Skip(1).Select(g => int.Parse(g.Value, CultureInfo.InvariantCulture))];
    }

    [Fact]
    public async Task Resume_RunWithTheCacheKilledMidRun_UsesTheKeysItStartedWithAndVerifies()
    {
        const string RunId = "ck";
        string[] job = ["--files", "64", "--file-size", "64KiB", "--concurrency", "1", "--cache", "on", .. s_copying];
        string? store = null;
        for (var tries = 1; store is null; tries++)
        {
            // Killed once a first task's commit record is stored; on a busy machine the run may get further (or end)
            // first, and is tried again in a new store.
            var candidate = Store($"resume-{tries}");
            var commits = Path.Combine(candidate, "_dataflow", "runs", RunId, "commits");
            if (await KilledDrivers.TryKillWhenAsync(Program, ["run", "--store", candidate, "--run-id", RunId, .. job], () => FilesUnder(commits).Length >= 1)
                && !File.Exists(Path.Combine(candidate, "output", "merged.txt")))
            {
                store = candidate;
            }

            Assert.True(tries < 5, "the run always ended before it could be killed");
        }

        var run = Path.Combine(store, "_dataflow", "runs", RunId);
        var keysFile = Path.Combine(run, "cache-keys.bin");
        var storedKeys = await File.ReadAllBytesAsync(keysFile);
        var plan = await JobRunner.LoadPlanAsync(ObjectStore.OpenFolder(store), RunId);
        Assert.Equal(CacheMode.On, plan!.Cache);
        var keys = TaskKeys.Deserialize(storedKeys, plan, "cache-keys.bin");
        var committed = await CommitIndex.LoadAllAsync(ObjectStore.OpenFolder(store), RunLayout.Of(plan), CancellationToken.None);
        Assert.InRange(committed.Count, 1, 63);
        Assert.All(committed.Values, m => Assert.Null(m.CachedFrom));

        // The inputs of a task that committed are touched (same bytes, another modification time): keys computed
        // again now would differ for it and the tasks after it; the resumed run must keep the keys it started with.
        var index = committed.Keys.First(t => t.Stage == 0).Index;
        foreach (var input in new[] { 2 * index, (2 * index) + 1 })
        {
            var file = Path.Combine(store, "input", $"{input:D3}.txt");
            File.SetLastWriteTimeUtc(file, File.GetLastWriteTimeUtc(file).AddMinutes(-5));
        }

        var resumed = await RunVerifiedAsync("resume", RunId, "--store", store, "--progress", "none", "--json");

        Assert.Equal((63 - committed.Count, 0, committed.Count), Counts(resumed));
        Assert.Equal(InputsConcatenated(store), File.ReadAllBytes(Path.Combine(store, "output", "merged.txt")));
        Assert.Equal(storedKeys, await File.ReadAllBytesAsync(keysFile));
        // Every task, run by either driver, is in the cache under the key the run started with.
        var expected = plan.Stages.SelectMany((stage, s) => Enumerable.Range(0, stage.Tasks.Count).Select(t => keys[new TaskId(s, t)]!)).ToList();
        Assert.Equal(63, expected.Distinct().Count());
        Assert.Equal(expected.Order(StringComparer.Ordinal), FilesUnder(Entries(store)).Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));
        Assert.Empty(FilesUnder(Path.Combine(run, "data")));
    }

    [Fact]
    public async Task Resume_RunKilledAfterItTookHalfFromTheCache_CountsThoseAndRunsOnlyTheRest()
    {
        const string RunId = "half";
        string[] job = ["--files", "64", "--file-size", "64KiB", "--concurrency", "1", "--cache", "on", "--overwrite", .. s_copying];
        string? store = null;
        for (var tries = 1; store is null; tries++)
        {
            var candidate = Store($"half-{tries}");
            Assert.Equal((63, 0, 0), Counts(await RunVerifiedAsync(["--store", candidate, .. job])));

            // The second half of the inputs changed (same sizes): 16 + 8 + 4 + 2 + 1 + 1 tasks have other keys, 31 not.
            foreach (var file in Directory.GetFiles(Path.Combine(candidate, "input")).Order(StringComparer.Ordinal).Skip(32))
            {
                File.WriteAllBytes(file, [.. File.ReadAllBytes(file).Select(b => (byte)('A' + ((b - 'A' + 1) % 26)))]);
            }

            // Killed once a record besides the hits' is stored: the hits are commits of the run, most tasks still to do.
            var commits = Path.Combine(candidate, "_dataflow", "runs", RunId, "commits");
            if (await KilledDrivers.TryKillWhenAsync(Program, ["run", "--store", candidate, "--run-id", RunId, .. job], () => FilesUnder(commits).Length >= 2)
                && !File.Exists(Path.Combine(candidate, "_dataflow", "runs", RunId, "summary.json")))
            {
                store = candidate;
            }

            Assert.True(tries < 4, "the run always ended before it could be killed");
        }

        var status = await ProgramRunner.RunAsync(Program, "status", RunId, "--store", store, "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal("interrupted", status.Json().GetProperty("state").GetString());
        var stages = status.Json().GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal([16, 8, 4, 2, 1, 0], stages.Select(s => s.GetProperty("cached").GetInt32()));
        var committed = stages.Sum(s => s.GetProperty("committed").GetInt32());
        Assert.InRange(committed, 31, 63);

        var resumed = await RunVerifiedAsync("resume", RunId, "--store", store, "--progress", "none", "--json");

        // The hits the killed driver took count as cached, what it ran as skipped; the rest runs.
        Assert.Equal((63 - committed, 31, committed - 31), Counts(resumed));
        Assert.Equal(InputsConcatenated(store), File.ReadAllBytes(Path.Combine(store, "output", "merged.txt")));
        Assert.Empty(FilesUnder(Path.Combine(store, "_dataflow", "runs", RunId, "data")));

        // A run after it takes every task from the cache.
        Assert.Equal((0, 63, 0), Counts(await RunVerifiedAsync(["--store", store, .. job])));
    }

    [Fact]
    public async Task ProcessExecutor_EntryOfAFirstLevelTaskDamaged_IsNotEvenLookedUp_AndNothingRuns()
    {
        var store = Store("damaged");
        string[] cached = ["--store", store, "--files", "16", "--cache", "on", "--overwrite", "--executor", "process", .. s_copying];
        Assert.Equal((15, 0, 0), Counts(await RunVerifiedAsync(cached)));
        var plan = await JobRunner.LoadPlanAsync(ObjectStore.OpenFolder(store), (await ProgramRunner.RunAsync(Program, "runs", "--store", store, "--json")).Json()[0].GetProperty("runId").GetString()!);
        var keys = TaskKeys.Deserialize(await File.ReadAllBytesAsync(Path.Combine(store, "_dataflow", "runs", plan!.RunId, "cache-keys.bin")), plan, "cache-keys.bin");
        var entry = Path.Combine(Entries(store), keys[new TaskId(0, 5)]![..2], keys[new TaskId(0, 5)] + ".json");
        await File.WriteAllTextAsync(entry, "{ damaged");

        var warm = await RunVerifiedAsync([.. cached, "--run-id", "after-damage"]);

        // Looked up from the output down: the final task is taken from the cache, so no task below it is needed, and
        // the damaged entry is never read. (A task whose reader is cached never runs: DagSchedulerTests.)
        Assert.Equal((0, 15, 0), Counts(warm));
        Assert.Empty(CommitFiles.ByTask(Path.Combine(store, "_dataflow", "runs", "after-damage", "commits")).Keys);
        Assert.Equal(0, warm.GetProperty("cache").GetProperty("entriesInvalid").GetInt32());
        Assert.Equal(1, warm.GetProperty("cache").GetProperty("lookups").GetInt32());
        Assert.Equal(InputsConcatenated(store), File.ReadAllBytes(Path.Combine(store, "output", "merged.txt")));
    }
}
