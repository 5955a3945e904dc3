using System.Diagnostics;

namespace Dataflow.EndToEnd.Tests.Integrity;

/// <summary>
/// The example programs as a reliability engineer tried them: drivers SIGKILLed mid-run and resumed, committed
/// intermediates damaged on disk, <c>gc</c> between a kill and a resume. Whatever happens, a run ends with the right
/// output (verified by the program against its inputs) or a clear error — never a wrong output — and leaves no
/// temporary files or intermediates behind.
/// </summary>
public sealed class IntegrityTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string Store(string name) => Path.Combine(_root, name);

    [Fact]
    public async Task Resume_ComposedIntermediateFlippedAfterItsCommit_SetsTheCommitAsideAndPublishesTheRightOutput()
    {
        // The defect as reported: intermediates copied (not referenced), a driver killed, one byte of a committed
        // level-2 object flipped, and the resumed run published the corrupt bytes and said "succeeded".
        const string RunId = "cm";
        string[] job = ["--files", "128", "--file-size", "128KiB", "--min-reference-size", "1GiB", "--gc", "never", "--concurrency", "1", "--progress", "none", "--json"];
        string? store = null;
        for (var tries = 1; store is null; tries++)
        {
            // Killed as soon as a first commit record is stored, so that most of the run is still to do; on a busy
            // machine the run may get further (or end) first, and is tried again in a new store.
            var candidate = Store($"flip-{tries}");
            var commits = Path.Combine(candidate, "_dataflow", "runs", RunId, "commits");
            if (await KilledDrivers.TryKillWhenAsync("merge-files", ["run", "--store", candidate, "--run-id", RunId, .. job], () => FilesUnder(commits).Length >= 1)
                && !File.Exists(Path.Combine(candidate, "output", "merged.txt")))
            {
                store = candidate;
            }

            Assert.True(tries < 5, "the run always ended before it could be killed");
        }

        // Every committed intermediate is flipped: whichever the rest of the run still needs is among them.
        foreach (var victim in FilesUnder(Path.Combine(store, "_dataflow", "runs", RunId, "data")))
        {
            Flip(victim);
        }

        var resumed = await ProgramRunner.RunAsync("merge-files", "resume", RunId, "--store", store, "--progress", "none", "--json");

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var summary = resumed.Json();
        Assert.True(summary.GetProperty("verified").GetBoolean(), resumed.ToString());
        Assert.True(summary.GetProperty("tasksSetAside").GetInt32() >= 1, resumed.ToString());
    }

    [Fact]
    public async Task Resume_AfterGcOfAKilledProcessExecutorRun_MakesTheCollectedIntermediatesAgainAndVerifies()
    {
        var store = Store("gc");
        // 40 map tasks: pooled workers commit a task every few milliseconds, and a 12-task run ended before the kill.
        var generated = await ProgramRunner.RunAsync("word-count", "generate", "--store", store, "--size", "256KiB", "--objects", "36", "--large-size", "1MiB", "--seed", "3");
        Assert.True(generated.ExitCode == 0, generated.ToString());
        const string RunId = "o1";
        var commits = Path.Combine(store, "_dataflow", "runs", RunId, "commits");
        string[] job = ["--reducers", "4", "--split-size", "256KiB", "--progress", "none", "--json"];
        await KillWhenAsync("word-count", ["run", "--store", store, "--executor", "process", "--run-id", RunId, .. job], () => Directory.Exists(commits) && Directory.GetFiles(commits, "*.json", SearchOption.AllDirectories).Length >= 3);
        await WorkerProcesses.WaitForExitAsync(store);

        var gc = await ProgramRunner.RunAsync("word-count", "gc", RunId, "--store", store);
        Assert.True(gc.ExitCode == 0, gc.ToString());
        Assert.Empty(FilesUnder(Path.Combine(store, "_dataflow", "runs", RunId, "data")));

        // Resumed with pooled workers too: a reduce task that reads a producer another task's repair has just set aside
        // reports a lost input and waits for that repair (it once failed as "not committed", and the run with it).
        var resumed = await ProgramRunner.RunAsync("word-count", "resume", RunId, "--store", store, "--executor", "process", "--progress", "none", "--json");

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.True(resumed.Json().GetProperty("verified").GetBoolean(), resumed.ToString());
        Assert.True(resumed.Json().GetProperty("tasksSetAside").GetInt32() >= 1, resumed.ToString());
    }

    [Fact]
    public async Task Gc_UnknownRun_ExitsTwoNamingTheRun()
    {
        var store = Store("unknown");
        Directory.CreateDirectory(store);

        var gc = await ProgramRunner.RunAsync("merge-files", "gc", "no-such-run", "--store", store);

        Assert.True(gc.ExitCode == 2, gc.ToString());
        Assert.Contains("no-such-run", gc.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SummaryCannotBeStoredAfterPublishing_SaysTheOutputIsPublishedAndVerifiedAndPrintsTheSummary()
    {
        // As a full disk would after publishing: the summary's object cannot be written (a folder is in its place).
        var store = Store("after-publish");
        const string RunId = "full";
        Directory.CreateDirectory(Path.Combine(store, "_dataflow", "runs", RunId, "summary.json", "in-the-way"));

        var run = await ProgramRunner.RunAsync("merge-files", "run", "--store", store, "--run-id", RunId, "--files", "16", "--progress", "none", "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal("succeeded", run.Json().GetProperty("status").GetString());
        Assert.True(run.Json().GetProperty("verified").GetBoolean(), run.ToString());
        Assert.Contains("error after publishing: the output", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("is published and verified", run.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(store, "output", "merged.txt")));
    }

    [Fact]
    public async Task RunsAndStatus_RunWithTruncatedPlanBesideAGoodOne_ListBothAndSayWhatIsDamaged()
    {
        var store = Store("damaged");
        var good = await ProgramRunner.RunAsync("merge-files", "run", "--store", store, "--run-id", "good", "--files", "8", "--progress", "none");
        Assert.True(good.ExitCode == 0, good.ToString());
        var plan = Path.Combine(store, "_dataflow", "runs", "good", "plan.json");
        var damaged = Path.Combine(store, "_dataflow", "runs", "truncated");
        Directory.CreateDirectory(damaged);
        var bytes = await File.ReadAllBytesAsync(plan);
        await File.WriteAllBytesAsync(Path.Combine(damaged, "plan.json"), bytes[..(bytes.Length / 2)]);

        var runs = await ProgramRunner.RunAsync("merge-files", "runs", "--store", store);
        var runsJson = await ProgramRunner.RunAsync("merge-files", "runs", "--store", store, "--json");
        var status = await ProgramRunner.RunAsync("merge-files", "status", "truncated", "--store", store);

        Assert.True(runs.ExitCode == 0, runs.ToString());
        Assert.Matches(@"(?m)^good\s+merge-files\s+succeeded\s+7/7\b", runs.Stdout);
        Assert.Matches(@"(?m)^truncated\s+-\s+damaged\s+-", runs.Stdout);
        Assert.True(runsJson.ExitCode == 0, runsJson.ToString());
        var listed = runsJson.Json().EnumerateArray().ToDictionary(r => r.GetProperty("runId").GetString()!);
        Assert.Equal("damaged", listed["truncated"].GetProperty("state").GetString());
        Assert.Contains("plan cannot be read", listed["truncated"].GetProperty("damage").GetString(), StringComparison.Ordinal);
        Assert.Equal(7, listed["good"].GetProperty("tasksCommitted").GetInt32());
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("run truncated: damaged", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("damaged: its plan cannot be read", status.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_OutputNameTooLongForTheFolder_ExitsTwoBeforeAnyWork()
    {
        var store = Store("long-name");
        var output = "output/" + new string('n', 300) + ".txt";

        var run = await ProgramRunner.RunAsync("merge-files", "run", "--store", store, "--output", output, "--progress", "none");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("255", run.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(store, "input")), "inputs were created before the output was checked");
    }

    [Theory]
    [InlineData("runs")]
    [InlineData("status")]
    [InlineData("gc")]
    public async Task StoreCommand_StoreFolderMissing_SaysSoWithoutCreatingIt(string command)
    {
        var store = Store("missing");
        string[] args = command == "runs" ? [command, "--store", store] : [command, "some-run", "--store", store];

        var result = await ProgramRunner.RunAsync("merge-files", args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("there is no store", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(store), "the store's folder was created");
    }

    [Fact]
    public async Task Generate_SizeZero_ExitsTwo()
    {
        var result = await ProgramRunner.RunAsync("word-count", "generate", "--store", Store("empty"), "--size", "0");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--size", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Soak_DriverKilledAtRandomMomentsAndResumed_EndsByteIdenticalWithNothingLeftBehind()
    {
        var reference = Store("soak-reference");
        var store = Store("soak");
        string[] merge = ["--files", "2000", "--progress", "none", "--json"];
        var took = System.Diagnostics.Stopwatch.StartNew();
        var clean = await ProgramRunner.RunAsync("merge-files", ["run", "--store", reference, .. merge]);
        Assert.True(clean.ExitCode == 0, clean.ToString());
        took.Stop();

        // The same inputs, made beforehand: the program creates inputs only into an empty prefix, and a driver killed
        // while creating them would leave fewer.
        foreach (var input in Directory.GetFiles(Path.Combine(reference, "input")))
        {
            var copy = Path.Combine(store, "input", Path.GetFileName(input));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(input, copy);
        }

        var kills = await SoakAsync("merge-files", store, merge, rounds: 10, new Random(2026), Window(took.Elapsed, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(650)));

        Assert.True(kills >= 1, "no driver was killed");
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference, "output", "merged.txt")), File.ReadAllBytes(Path.Combine(store, "output", "merged.txt")));
    }

    [Fact]
    public async Task Soak_ProcessExecutorWordCountKilledAtRandomMomentsAndResumed_EndsByteIdenticalWithNothingLeftBehind()
    {
        string[] corpus = ["--size", "512KiB", "--objects", "6", "--large-size", "1MiB", "--seed", "11"];
        string[] count = ["--reducers", "4", "--split-size", "256KiB", "--executor", "process", "--progress", "none", "--json"];
        var reference = Store("wc-soak-reference");
        var store = Store("wc-soak");
        foreach (var target in new[] { reference, store })
        {
            var generate = await ProgramRunner.RunAsync("word-count", ["generate", "--store", target, .. corpus]);
            Assert.True(generate.ExitCode == 0, generate.ToString());
        }

        var took = System.Diagnostics.Stopwatch.StartNew();
        var clean = await ProgramRunner.RunAsync("word-count", ["run", "--store", reference, .. count]);
        Assert.True(clean.ExitCode == 0, clean.ToString());
        took.Stop();

        // The driver and its worker processes are killed together, at random moments, four times at most.
        var kills = await SoakAsync("word-count", store, count, rounds: 6, new Random(2027), Window(took.Elapsed, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(1200)));

        Assert.True(kills >= 1, "no driver was killed");
        var expected = Directory.GetFiles(Path.Combine(reference, "output")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, Directory.GetFiles(Path.Combine(store, "output")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var part in expected)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(reference, "output", part!)), File.ReadAllBytes(Path.Combine(store, "output", part!)));
        }
    }

    /// <summary>
    /// When a timed kill may come: between <paramref name="shortest"/> and <paramref name="longest"/> after the start,
    /// but within the first 80 % of how long the same run took uninterrupted (<paramref name="clean"/>), so that on a
    /// fast machine a timed kill still comes before the run ends.
    /// </summary>
    private static (TimeSpan Shortest, TimeSpan Longest) Window(TimeSpan clean, TimeSpan shortest, TimeSpan longest)
    {
        var latest = TimeSpan.FromTicks(Math.Min(longest.Ticks, clean.Ticks * 8 / 10));
        var earliest = TimeSpan.FromTicks(Math.Min(shortest.Ticks, latest.Ticks / 4));
        return (earliest, TimeSpan.FromTicks(Math.Max(latest.Ticks, earliest.Ticks + TimeSpan.TicksPerMillisecond)));
    }

    /// <summary>
    /// Runs <paramref name="program"/> as run <c>soak</c> in <paramref name="store"/>, SIGKILLs it (with its children)
    /// after a random delay, resumes it, and so on for up to <paramref name="rounds"/> kills; then lets it finish.
    /// Checks that it finished verified, leaving no temporary files or intermediates. Returns the kills.
    /// </summary>
    private static async Task<int> SoakAsync(string program, string store, string[] job, int rounds, Random random, (TimeSpan Shortest, TimeSpan Longest) window)
    {
        var (shortest, longest) = window;
        const string RunId = "soak";
        var runFolder = Path.Combine(store, "_dataflow", "runs", RunId);
        var kills = 0;
        string[] next = ["run", "--store", store, "--run-id", RunId, .. job];
        for (var round = 0; round < rounds; round++)
        {
            // A random moment of the run: a third of the kills after a random time (early ones hit start-up, listing and
            // planning), the others once 1 to 3 more commit records are stored (tasks, commits, publishing).
            bool killed;
            if (random.Next(3) == 0)
            {
                killed = await KillAfterAsync(program, next, TimeSpan.FromMilliseconds(random.Next((int)shortest.TotalMilliseconds, (int)longest.TotalMilliseconds)));
            }
            else
            {
                var target = FilesUnder(Path.Combine(runFolder, "commits")).Length + random.Next(1, 4);
                killed = await KilledDrivers.TryKillWhenAsync(program, next, () => FilesUnder(Path.Combine(runFolder, "commits")).Length >= target);
            }

            if (killed)
            {
                kills++;
            }

            // A driver killed before it stored the plan leaves no run to resume: it is started again.
            next = File.Exists(Path.Combine(runFolder, "plan.json"))
                ? ["resume", RunId, "--store", store, "--progress", "none", "--json"]
                : ["run", "--store", store, "--run-id", RunId, .. job];
            if (File.Exists(Path.Combine(runFolder, "summary.json")))
            {
                break;
            }
        }

        if (!File.Exists(Path.Combine(runFolder, "summary.json")))
        {
            var last = await ProgramRunner.RunAsync(program, next);
            Assert.True(last.ExitCode == 0, last.ToString());
            Assert.True(last.Json().GetProperty("verified").GetBoolean(), last.ToString());
        }

        Assert.Empty(FilesUnder(Path.Combine(store, ".dataflow-tmp")));
        Assert.Empty(FilesUnder(Path.Combine(runFolder, "data")));
        return kills;
    }

    private static string[] FilesUnder(string folder) =>
        Directory.Exists(folder) ? Directory.GetFiles(folder, "*", SearchOption.AllDirectories) : [];

    /// <summary>Starts <paramref name="program"/> and SIGKILLs it once <paramref name="condition"/> holds (it must still be running then).</summary>
    private static async Task KillWhenAsync(string program, string[] args, Func<bool> condition) =>
        Assert.True(await KilledDrivers.TryKillWhenAsync(program, args, condition), $"{program} ended before it could be killed");

    /// <summary>Starts <paramref name="program"/> and SIGKILLs it after <paramref name="delay"/>; false when it had ended by then.</summary>
    private static async Task<bool> KillAfterAsync(string program, string[] args, TimeSpan delay)
    {
        using var driver = Process.Start(ProgramRunner.StartInfo(program, args))!;
        var stdout = driver.StandardOutput.ReadToEndAsync();
        var stderr = driver.StandardError.ReadToEndAsync();
        var exited = driver.WaitForExitAsync();
        var ended = await Task.WhenAny(exited, Task.Delay(delay)) == exited;
        if (!ended)
        {
            driver.Kill(entireProcessTree: true);
        }

        await driver.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        Assert.True(!ended || driver.ExitCode == 0, $"exit code {driver.ExitCode}:{Environment.NewLine}{await stderr}");
        return !ended;
    }

    /// <summary>Flips one byte in the middle of a file, as a bad disk would, moving its modification time on.</summary>
    private static void Flip(string path)
    {
        var modified = File.GetLastWriteTimeUtc(path);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, modified.AddSeconds(1));
    }
}
