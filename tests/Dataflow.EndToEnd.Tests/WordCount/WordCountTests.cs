using System.Diagnostics;
using Dataflow.Examples.WordCount;

namespace Dataflow.EndToEnd.Tests.WordCount;

/// <summary>
/// examples/word-count run as users run it, on a local folder store: map, combine, shuffle and reduce checked
/// against a single-threaded count, with the local and the process executor, through a killed driver and killed workers.
/// </summary>
/// <remarks>One concept, kept in one file: the word-count example's end-to-end tests on a folder store.</remarks>
public sealed class WordCountTests : IDisposable
{
    private const string Program = "word-count";

    // A corpus small enough for tests: 6 objects of 256 KiB and one of 1.5 MiB, cut into 512 KiB splits. Objects are
    // a little over their size (whole lines), so each small one is a split of its own, and the large one makes three
    // splits (the last a few bytes longer, rather than a fourth tiny one): 9 map tasks, then 8 (or 4) reduce tasks.
    private static readonly string[] s_corpus = ["--size", "256KiB", "--objects", "6", "--large-size", "1536KiB", "--seed", "7"];
    private static readonly string[] s_job = ["--reducers", "8", "--split-size", "512KiB", "--progress", "none", "--json"];

    // Fewer reducers where every task is a process and tasks are killed: 13 tasks.
    private static readonly string[] s_smallJob = ["--reducers", "4", "--split-size", "512KiB", "--progress", "none", "--json"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public WordCountTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string Store(string name) => Path.Combine(_root, name);

    private static Task<ProgramResult> RunAsync(params string[] args) => ProgramRunner.RunAsync(Program, args);

    private async Task<string> GenerateAsync(string name)
    {
        var store = Store(name);
        var result = await RunAsync(["generate", "--store", store, .. s_corpus]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return store;
    }

    private static Dictionary<string, byte[]> Parts(string store, string output = "output") =>
        Directory.GetFiles(Path.Combine(store, output)).ToDictionary(p => Path.GetFileName(p), File.ReadAllBytes);

    private static void AssertSameParts(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in expected)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), $"part {name} differs");
        }
    }

    private static void AssertVerifiedRun(ProgramResult result, int? skipped = null)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Equal("word-count", json.GetProperty("job").GetString());
        Assert.Equal(2, json.GetProperty("stages").GetInt32());
        Assert.Equal(json.GetProperty("tasks").GetInt32(), json.GetProperty("tasksRun").GetInt32() + json.GetProperty("tasksSkipped").GetInt32());
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
        if (skipped is { } s)
        {
            Assert.Equal(s, json.GetProperty("tasksSkipped").GetInt32());
        }
    }

    /// <summary>The test's own single-threaded count, compared with the parts the run wrote.</summary>
    private static async Task AssertMatchesSingleThreadedCountAsync(string folder)
    {
        await using var store = ObjectStore.OpenFolder(folder);
        var inputs = (await store.ListAllAsync("input/")).Select(i => i.Key).ToList();
        var parts = (await store.ListAllAsync("output/")).Select(i => i.Key).ToList();
        var expected = await WordCountProgram.CountAsync(store, inputs, CancellationToken.None);
        Assert.True(expected.Count > 1000, $"the corpus has only {expected.Count} distinct words");
        Assert.Null(await WordCountProgram.CompareAsync(store, parts, expected, CancellationToken.None));
        Assert.Equal(8, parts.Count);
    }

    [Fact]
    public async Task Run_LocalAndProcessExecutors_MatchSingleThreadedCountWithIdenticalParts()
    {
        var local = await GenerateAsync("local");
        var process = await GenerateAsync("process");

        var localRun = await RunAsync(["run", "--store", local, .. s_job]);
        var processRun = await RunAsync(["run", "--store", process, "--executor", "process", .. s_job]);

        AssertVerifiedRun(localRun, skipped: 0);
        AssertVerifiedRun(processRun, skipped: 0);
        await AssertMatchesSingleThreadedCountAsync(local);
        AssertSameParts(Parts(local), Parts(process));

        Assert.Equal(17, localRun.Json().GetProperty("tasks").GetInt32());
        Assert.Equal(17, processRun.Json().GetProperty("tasks").GetInt32());
    }

    [Fact]
    public async Task Run_DefaultCheckAndVerify_SayWhatTheyProved()
    {
        var store = await GenerateAsync("checks");

        var quick = await RunAsync(["run", "--store", store, .. s_job]);
        var full = await RunAsync(["run", "--store", store, "--verify", "--overwrite", .. s_job]);

        AssertVerifiedRun(quick);
        AssertVerifiedRun(full);
        Assert.Contains("the total and a checksum of every word's count equal a streaming pass over the input", quick.Stderr, StringComparison.Ordinal);
        Assert.Contains("as a single-threaded recount finds them", full.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"verified: \d+ distinct words, \d+ in all", quick.Stderr);
        await AssertMatchesSingleThreadedCountAsync(store);
    }

    /// <summary>The default check on outputs made wrong on purpose: each is caught, and the message says what is wrong.</summary>
    [Fact]
    public async Task Check_WrongOutput_FailsSayingWhatIsWrong()
    {
        var folder = await GenerateAsync("wrong");
        AssertVerifiedRun(await RunAsync(["run", "--store", folder, .. s_job]));
        var partFiles = Directory.GetFiles(Path.Combine(folder, "output")).Order(StringComparer.Ordinal).ToList();
        var original = partFiles.ToDictionary(p => p, File.ReadAllText);
        var lines = original[partFiles[0]].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var (first, second) = (lines[0].Split('\t'), lines[1].Split('\t'));
        Assert.NotEqual(first[1], second[1]);
        string Line(string word, long count) => $"{word}\t{count}";
        string[] With(int index, string line) => [.. lines.Select((l, i) => i == index ? line : l)];
        var wrong = new (string Name, string[] Lines, string Expected)[]
        {
            ("a count one too high", With(0, Line(first[0], long.Parse(first[1]) + 1)), "add up to"),
            ("a line dropped", lines[1..], "add up to"),
            ("two counts swapped", [Line(first[0], long.Parse(second[1])), Line(second[0], long.Parse(first[1])), .. lines[2..]], "checksum differs"),
            ("one moved from a word to another", [Line(first[0], long.Parse(first[1]) + 1), Line(second[0], long.Parse(second[1]) - 1), .. lines[2..]], "checksum differs"),
            ("a word upper-cased", With(0, Line(first[0].ToUpperInvariant(), long.Parse(first[1]))), "is not a lower-cased word"),
            ("two lines out of order", [lines[1], lines[0], .. lines[2..]], "is not in ordinal order"),
            ("a count of zero", With(0, Line(first[0], 0)), "is not word<TAB>count"),
        };

        await using var store = ObjectStore.OpenFolder(folder);
        var inputs = (await store.ListAllAsync("input/")).Select(i => new PlanInput(i.Key, i.Size)).ToList();
        var parts = partFiles.Select(p => "output/" + Path.GetFileName(p)).ToList();
        Assert.Null((await WordCountProgram.CheckAsync(store, inputs, parts, 2, CancellationToken.None)).Problem);
        foreach (var (name, changed, expected) in wrong)
        {
            await File.WriteAllTextAsync(partFiles[0], string.Join('\n', changed) + "\n");
            var (_, _, problem) = await WordCountProgram.CheckAsync(store, inputs, parts, 2, CancellationToken.None);
            Assert.True(problem is not null && problem.Contains(expected, StringComparison.Ordinal), $"{name}: {problem ?? "not caught"}");
        }

        // A word also in another part (in its place in that part's order).
        await File.WriteAllTextAsync(partFiles[0], original[partFiles[0]]);
        var last = original[partFiles[^1]].Split('\n', StringSplitOptions.RemoveEmptyEntries).Append(lines[0]).OrderBy(l => l.Split('\t')[0], StringComparer.Ordinal);
        await File.WriteAllTextAsync(partFiles[^1], string.Join('\n', last) + "\n");
        var (_, _, twice) = await WordCountProgram.CheckAsync(store, inputs, parts, 2, CancellationToken.None);
        Assert.Contains("appears in more than one part", twice, StringComparison.Ordinal);
    }

    /// <summary>Cut into ranges of any size (lines and characters of several bytes across the cuts), the input's tally is the same, and it counts what the single-threaded count counts.</summary>
    [Fact]
    public async Task WordTally_AnyRangeSize_SameTallyAsWholeObjects()
    {
        var folder = await GenerateAsync("tally");
        await using var store = ObjectStore.OpenFolder(folder);
        var inputs = (await store.ListAllAsync("input/")).Select(i => new PlanInput(i.Key, i.Size)).ToList();
        await store.PutAsync("odd/a.txt", System.Text.Encoding.UTF8.GetBytes("\uFEFFÉté été\r\n数据流 x\n\n\nlast-line-without-break ΛΑ"));
        inputs.Add(new PlanInput("odd/a.txt", (await store.HeadAsync("odd/a.txt"))!.Size));

        var whole = await WordTally.OfInputsAsync(store, inputs, 7, 2, long.MaxValue, CancellationToken.None);
        var expected = await WordCountProgram.CountAsync(store, inputs.Select(i => i.Key), CancellationToken.None);

        Assert.Equal(expected.Values.Sum(), whole.Total);
        Assert.Equal(expected.Aggregate(default(WordTally), (sum, p) => sum + WordTally.Of(p.Key, p.Value, 7)), whole);
        foreach (var size in new long[] { 1000, 65_537 })
        {
            Assert.Equal(whole, await WordTally.OfInputsAsync(store, inputs, 7, 2, size, CancellationToken.None));
        }

        PlanInput[] odd = [inputs[^1]];
        var oddWhole = await WordTally.OfInputsAsync(store, odd, 7, 2, long.MaxValue, CancellationToken.None);
        Assert.Equal(9, oddWhole.Total);
        foreach (var size in new long[] { 1, 2, 3, 5, 7 })
        {
            Assert.Equal(oddWhole, await WordTally.OfInputsAsync(store, odd, 7, 2, size, CancellationToken.None));
        }
    }

    [Fact]
    public async Task Resume_AfterDriverKilledMidRun_SkipsCommittedTasksAndWritesIdenticalOutput()
    {
        var reference = await GenerateAsync("reference");
        var store = await GenerateAsync("killed");
        AssertVerifiedRun(await RunAsync(["run", "--store", reference, .. s_smallJob]));
        const string RunId = "killed-driver";
        var commits = Path.Combine(store, "_dataflow", "runs", RunId, "commits");

        using (var driver = Process.Start(ProgramRunner.StartInfo(Program, ["run", "--store", store, "--executor", "process", "--run-id", RunId, .. s_smallJob]))!)
        {
            var stdout = driver.StandardOutput.ReadToEndAsync();
            var stderr = driver.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow + ProgramRunner.Patience;
            while (CommitFiles.ByTask(commits).Count < 2 && !driver.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            var ended = driver.HasExited;
            driver.Kill(entireProcessTree: false);
            await driver.WaitForExitAsync();
            Assert.False(ended, $"the driver ended before it could be killed:{Environment.NewLine}{await stderr}");
            await Task.WhenAll(stdout, stderr);
        }

        // Workers the driver started may still finish their task; wait for them, as an orphaned pod would run out.
        await WorkerProcesses.WaitForExitAsync(store);
        var before = CommitFiles.ByTask(commits);
        Assert.True(before.Count is >= 2 and < 13, $"{before.Count} tasks committed when the driver was killed: {string.Join(", ", before.Keys)}");
        Assert.False(File.Exists(Path.Combine(store, "_dataflow", "runs", RunId, "summary.json")));

        var status = await RunAsync("status", RunId, "--store", store, "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal("interrupted", status.Json().GetProperty("state").GetString());
        Assert.Equal(before.Count, status.Json().GetProperty("stages").EnumerateArray().Sum(s => s.GetProperty("committed").GetInt32()));
        var runs = await RunAsync("runs", "--store", store, "--json");
        Assert.True(runs.ExitCode == 0, runs.ToString());
        Assert.Contains(runs.Json().EnumerateArray(), r => r.GetProperty("runId").GetString() == RunId && r.GetProperty("state").GetString() == "interrupted");

        var resumed = await RunAsync("resume", RunId, "--store", store, "--executor", "process", "--json", "--progress", "none");

        AssertVerifiedRun(resumed, skipped: before.Count);
        Assert.Equal(13 - before.Count, resumed.Json().GetProperty("tasksRun").GetInt32());
        AssertSameParts(Parts(reference), Parts(store));

        // Not run again: every task committed before the resume still has exactly the commit record it had.
        var after = CommitFiles.ByTask(commits);
        foreach (var (task, records) in before)
        {
            Assert.Equal(records, after[task]);
        }

        var finished = await RunAsync("status", RunId, "--store", store, "--json");
        Assert.Equal("succeeded", finished.Json().GetProperty("state").GetString());
        var gc = await RunAsync("gc", RunId, "--store", store);
        Assert.True(gc.ExitCode == 0, gc.ToString());
        Assert.Contains("deleted 0 intermediate objects", gc.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WorkersKilledWithSigkillAtRandom_RetriesThemAndWritesIdenticalOutput()
    {
        var reference = await GenerateAsync("reference");
        var store = await GenerateAsync("sigkill");
        AssertVerifiedRun(await RunAsync(["run", "--store", reference, .. s_smallJob]));

        using var driver = Process.Start(ProgramRunner.StartInfo(Program, ["run", "--store", store, "--executor", "process", "--attempts", "8", .. s_smallJob]))!;
        var stdout = driver.StandardOutput.ReadToEndAsync();
        var stderr = driver.StandardError.ReadToEndAsync();
        var random = new Random(11);
        var kills = 0;
        var seen = new HashSet<int>();
        while (!driver.HasExited && kills < 4)
        {
            // Kill only workers seen in an earlier look, so that they are at work rather than starting.
            var workers = WorkerProcesses.Find(store);
            var victims = workers.Where(seen.Contains).ToList();
            seen = [.. workers];
            if (victims.Count > 0 && WorkerProcesses.Kill(victims[random.Next(victims.Count)]))
            {
                kills++;
            }

            await Task.Delay(150 + random.Next(200));
        }

        await driver.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);
        var result = new ProgramResult(driver.ExitCode, await stdout, await stderr);

        Assert.True(kills >= 2, $"only {kills} workers could be killed before the run ended");
        AssertVerifiedRun(result, skipped: 0);
        Assert.True(result.Json().GetProperty("retries").GetInt32() >= 1, result.ToString());
        AssertSameParts(Parts(reference), Parts(store));
    }

    [Fact]
    public async Task MergeFiles_ProcessExecutor_WritesTheSameOutputAsTheLocalExecutor()
    {
        string[] job = ["--files", "12", "--file-size", "3", "--json", "--progress", "none"];
        var local = await ProgramRunner.RunAsync("merge-files", ["run", "--store", Store("merge-local"), .. job]);
        var process = await ProgramRunner.RunAsync("merge-files", ["run", "--store", Store("merge-process"), "--executor", "process", .. job]);

        Assert.True(local.ExitCode == 0, local.ToString());
        Assert.True(process.ExitCode == 0, process.ToString());
        Assert.True(process.Json().GetProperty("verified").GetBoolean());
        Assert.Equal(12, process.Json().GetProperty("tasksRun").GetInt32());
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(Store("merge-local"), "output", "merged.txt")),
            File.ReadAllBytes(Path.Combine(Store("merge-process"), "output", "merged.txt")));
    }

    [Theory]
    [InlineData("--reducers", "0", "--reducers")]
    [InlineData("--split-size", "12", "--split-size")]
    public async Task Run_BadOption_ExitsTwoNamingTheOption(string option, string value, string expected)
    {
        var result = await RunAsync("run", "--store", Store("bad"), option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_EmptyInputPrefix_ExitsTwoNamingJobAndPrefix()
    {
        var result = await RunAsync("run", "--store", Store("empty"), "--input", "nothing-here/");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("job 'word-count'", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("nothing-here/", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_TaskRangeAndCompletionIndex_CommitEachTaskOnceAndReportSkips()
    {
        var store = await GenerateAsync("worker");
        const string RunId = "worker-contract";

        // The plan a driver would store, without a driver: tasks run only when this test starts workers.
        var mapTasks = await WriteWordCountPlanAsync(store, RunId);
        var address = new Uri(Path.Combine(store, "_dataflow", "runs", RunId, "plan.json")).AbsoluteUri;

        var range = await RunAsync("worker", "--plan", address, "--stage", "0", "--tasks", "0-2");
        Assert.True(range.ExitCode == 0, range.ToString());
        Assert.Equal(3, range.Stdout.Split('\n').Count(l => l.Contains("\"status\":\"committed\"", StringComparison.Ordinal)));

        var again = await RunAsync("worker", "--plan", address, "--stage", "0", "--task", "1");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("\"status\":\"skipped\"", again.Stdout, StringComparison.Ordinal);

        var indexed = await ProgramRunner.RunAsync(Program, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "3" }, "worker", "--plan", address, "--stage", "0");
        Assert.True(indexed.ExitCode == 0, indexed.ToString());
        Assert.Contains("\"task\":\"0/3\"", indexed.Stdout, StringComparison.Ordinal);

        // A reduce task before every map task committed: its inputs are missing, so it fails (exit 1) saying which.
        var early = await RunAsync("worker", "--plan", address, "--stage", "1", "--task", "0");
        Assert.Equal(1, early.ExitCode);
        Assert.Contains("has not committed", early.Stderr, StringComparison.Ordinal);

        // A shard of 4 tasks (4-7), then the last shard, short (8), with its index from JOB_COMPLETION_INDEX as a pod's.
        var shard = await RunAsync("worker", "--plan", address, "--stage", "0", "--shard-size", "4", "--shard", "1");
        Assert.True(shard.ExitCode == 0, shard.ToString());
        Assert.Equal(["0/4", "0/5", "0/6", "0/7"], Reported(shard.Stdout));
        var last = await ProgramRunner.RunAsync(Program, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "2" }, "worker", "--plan", address, "--stage", "0", "--shard-size", "4");
        Assert.True(last.ExitCode == 0, last.ToString());
        Assert.Equal(["0/8"], Reported(last.Stdout));

        var commits = CommitFiles.ByTask(Path.Combine(store, "_dataflow", "runs", RunId, "commits"));
        Assert.Equal(Enumerable.Range(0, 9).Select(i => $"0/{i}"), commits.Keys.Order(StringComparer.Ordinal));
        Assert.All(commits.Values, records => Assert.Single(records));

        Assert.Equal(9, mapTasks);
    }

    [Fact]
    public async Task PublishAndFinish_AfterWorkersRanEveryShard_PublishTheCountAndCollectEverything()
    {
        // What an Argo Workflow does without a driver: shards of each stage, then publish, then the exit handler.
        var store = await GenerateAsync("steps");
        const string RunId = "steps-run";
        await WriteWordCountPlanAsync(store, RunId);
        var address = Path.Combine(store, "_dataflow", "runs", RunId, "plan.json");

        var early = await RunAsync("publish", "--plan", address);
        Assert.Equal(1, early.ExitCode);
        Assert.Contains("task 1/0 of stage 'reduce' has not committed", early.Stderr, StringComparison.Ordinal);

        foreach (var (stage, shards) in new[] { ("0", 3), ("1", 2) })
        {
            for (var shard = 0; shard < shards; shard++)
            {
                var worker = await RunAsync("worker", "--plan", address, "--stage", stage, "--shard-size", "4", "--shard", $"{shard}");
                Assert.True(worker.ExitCode == 0, worker.ToString());
            }
        }

        var publish = await RunAsync("publish", "--plan", address);
        var again = await RunAsync("publish", "--plan", address);
        var finish = await RunAsync("finish", "--plan", address, "--status", "Succeeded");

        Assert.True(publish.ExitCode == 0, publish.ToString());
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.True(finish.ExitCode == 0, finish.ToString());
        await AssertMatchesSingleThreadedCountAsync(store);
        var data = Path.Combine(store, "_dataflow", "runs", RunId, "data");
        Assert.True(!Directory.Exists(data) || Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length == 0, "intermediate data is left");
        var summary = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(store, "_dataflow", "runs", RunId, "summary.json"))).RootElement;
        Assert.Equal("succeeded", summary.GetProperty("status").GetString());
        Assert.Equal(17, summary.GetProperty("tasksRun").GetInt32());
        Assert.Equal(0, summary.GetProperty("intermediateObjectsLeft").GetInt32());
        var status = await RunAsync("status", RunId, "--store", store);
        Assert.Contains($"run {RunId} of job 'word-count': succeeded", status.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Finish_AfterAFailedWorkflow_KeepsWhatCommittedForResume()
    {
        var store = await GenerateAsync("steps-failed");
        const string RunId = "steps-failed";
        await WriteWordCountPlanAsync(store, RunId);
        var address = Path.Combine(store, "_dataflow", "runs", RunId, "plan.json");
        var worker = await RunAsync("worker", "--plan", address, "--stage", "0", "--tasks", "0-8");
        Assert.True(worker.ExitCode == 0, worker.ToString());
        var data = Directory.GetFiles(Path.Combine(store, "_dataflow", "runs", RunId, "data"), "*", SearchOption.AllDirectories);

        var finish = await RunAsync("finish", "--plan", address, "--status", "Failed", "--failures", "pod x OOMKilled");
        var resume = await RunAsync(["resume", RunId, "--store", store, "--progress", "none", "--json"]);

        Assert.True(finish.ExitCode == 0, finish.ToString());
        Assert.Contains($"resume {RunId}", finish.Stderr, StringComparison.Ordinal);
        Assert.NotEmpty(data);
        AssertVerifiedRun(resume, skipped: 9);
        await AssertMatchesSingleThreadedCountAsync(store);
    }

    [Theory]
    [InlineData("finish", "--status", "Running", "finish needs --status Succeeded, Failed or Error")]
    [InlineData("publish", "--plan", "/tmp/nothing/plan.json", "not the address of a plan")]
    public async Task Steps_BadArguments_ExitTwo(string command, string option, string value, string expected)
    {
        var result = await RunAsync(command, option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--stage", "5", "--task", "0", "has stages 0 to 1")]
    [InlineData("--stage", "0", "--task", "99", "out of range")]
    [InlineData("--stage", "0", "--tasks", "3-1", "not a task index or a range")]
    [InlineData("--stage", "0", "--shard-size", "4", "--shard", "3", "has tasks 0 to 8; 12-15 is out of range")]
    [InlineData("--stage", "0", "--shard", "1", "--task", "1", "--shard needs --shard-size")]
    [InlineData("--stage", "0", "--shard-size", "4", "--task", "1", "not several")]
    public async Task Worker_BadTask_ExitsTwo(params string[] arguments)
    {
        var store = await GenerateAsync("worker-bad");
        await WriteWordCountPlanAsync(store, "bad-task");
        var address = Path.Combine(store, "_dataflow", "runs", "bad-task", "plan.json");
        var expected = arguments[^1];

        var result = await RunAsync(["worker", "--plan", address, .. arguments[..^1]]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunManagement_RunLeasedByAnotherDriver_StatusSaysRunningAndResumeAndGcRefuse()
    {
        var store = await GenerateAsync("leased");
        const string RunId = "leased-run";
        await WriteWordCountPlanAsync(store, RunId);
        var until = DateTimeOffset.UtcNow.AddMinutes(5);
        await File.WriteAllTextAsync(
            Path.Combine(store, "_dataflow", "runs", RunId, "lease.json"),
            $$"""{"holder":"another-host/4242/0123456789abcdef","expiresAt":"{{until:O}}"}""");

        var status = await RunAsync("status", RunId, "--store", store);
        var resume = await RunAsync("resume", RunId, "--store", store);
        var gc = await RunAsync("gc", RunId, "--store", store);
        var unknown = await RunAsync("status", "no-such-run", "--store", store);

        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains($"run {RunId} of job 'word-count': running", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("lease: another-host/4242/", status.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, resume.ExitCode);
        Assert.Contains("is being driven by another-host/4242/", resume.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, gc.ExitCode);
        Assert.Contains("gc refuses", gc.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("run 'no-such-run' does not exist", unknown.Stderr, StringComparison.Ordinal);
        // Nothing ran, nothing was deleted: the run still has just its plan (index and chunks) and the other driver's lease.
        Assert.Equal(
            ["lease.json", "plan", "plan.json"],
            Directory.GetFileSystemEntries(Path.Combine(store, "_dataflow", "runs", RunId)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Worker_NoSuchPlan_ExitsTwo()
    {
        var missing = await RunAsync("worker", "--plan", Path.Combine(Store("none"), "_dataflow", "runs", "nope", "plan.json"), "--task", "0");
        var malformed = await RunAsync("worker", "--plan", Path.Combine(Store("none"), "plan.json"), "--task", "0");

        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no plan at", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("is not the address of a plan", malformed.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Stores the plan a driver would store for <c>run --reducers 8 --split-size 512KiB</c>; returns its map task count.</summary>
    [Fact]
    public async Task Worker_PlanOfAnotherBuild_ExitsTwoNamingBothVersions()
    {
        // A stale image: the driver that stored the plan is another build than the worker a pod runs.
        var store = await GenerateAsync("stale");
        await WriteWordCountPlanAsync(store, "stale-run", dataflowVersion: "0.0.9+0123abc");
        var address = Path.Combine(store, "_dataflow", "runs", "stale-run", "plan.json");

        var result = await RunAsync("worker", "--plan", address, "--stage", "0", "--task", "0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("made by Dataflow 0.0.9+0123abc; this worker is Dataflow ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("same build", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(store, "_dataflow", "runs", "stale-run", "commits")));
    }

    internal static async Task<int> WriteWordCountPlanAsync(string folder, string runId, string? dataflowVersion = null)
    {
        await using var store = ObjectStore.OpenFolder(folder);
        var job = WordCountJob.Define("input/", "output/", 8, 512 << 10, 64L << 20, 64L << 20);
        var inputs = (await store.ListAllAsync("input/")).Select(i => new PlanInput(i.Key, i.Size)).ToList();
        var plan = JobPlanner.CreatePlan(job, inputs, runId, DateTimeOffset.UtcNow) with
        {
            Arguments = ["--reducers", "8", "--split-size", "512KiB", "--input", "input/", "--output", "output/"],
        };
        if (dataflowVersion is not null)
        {
            plan = plan with { DataflowVersion = dataflowVersion };
        }

        // Chunks of 4 tasks: a worker's range spans chunks.
        await PlanStore.SaveAsync(store, plan, chunkSize: 4);
        return plan.Stages[0].Tasks.Count;
    }

    /// <summary>The tasks a worker reported committed, in task order.</summary>
    private static string[] Reported(string stdout) =>
        [.. stdout.Split('\n')
            .Select(l => TaskWorker.ParseReport(l.TrimEnd('\r')))
            .Where(r => r is { Status: "committed" })
            .Select(r => r!.Task)
            .Order()
            .Select(t => t.ToString())];
}
