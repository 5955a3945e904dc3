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
        var store = Store("flip");
        const string RunId = "cm";
        string[] job = ["--files", "64", "--file-size", "64KiB", "--min-reference-size", "1GiB", "--gc", "never", "--concurrency", "1", "--progress", "none", "--json"];
        var data = Path.Combine(store, "_dataflow", "runs", RunId, "data", "s0001");
        await KillWhenAsync("merge-files", ["run", "--store", store, "--run-id", RunId, .. job], () => Directory.Exists(data) && Directory.GetFiles(data).Length >= 2);
        var victim = Directory.GetFiles(data).Order(StringComparer.Ordinal).First();
        Flip(victim);

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
        var generated = await ProgramRunner.RunAsync("word-count", "generate", "--store", store, "--size", "256KiB", "--objects", "6", "--large-size", "1MiB", "--seed", "3");
        Assert.True(generated.ExitCode == 0, generated.ToString());
        const string RunId = "o1";
        var commits = Path.Combine(store, "_dataflow", "runs", RunId, "commits");
        string[] job = ["--reducers", "4", "--split-size", "512KiB", "--progress", "none", "--json"];
        await KillWhenAsync("word-count", ["run", "--store", store, "--executor", "process", "--run-id", RunId, .. job], () => Directory.Exists(commits) && Directory.GetFiles(commits, "*.json", SearchOption.AllDirectories).Length >= 3);
        await WorkerProcesses.WaitForExitAsync(store);

        var gc = await ProgramRunner.RunAsync("word-count", "gc", RunId, "--store", store);
        Assert.True(gc.ExitCode == 0, gc.ToString());
        Assert.Empty(Directory.GetFiles(Path.Combine(store, "_dataflow", "runs", RunId, "data"), "*", SearchOption.AllDirectories));

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
    public async Task Soak_DriverKilledAtRandomMomentsAndResumed_EndsByteIdenticalWithNothingLeftBehind()
    {
        var reference = Store("soak-reference");
        var store = Store("soak");
        string[] merge = ["--files", "2000", "--progress", "none", "--json"];
        var clean = await ProgramRunner.RunAsync("merge-files", ["run", "--store", reference, .. merge]);
        Assert.True(clean.ExitCode == 0, clean.ToString());
        const string RunId = "soak";
        var random = new Random(2026);
        var kills = 0;
        string[] next = ["run", "--store", store, "--run-id", RunId, .. merge];
        for (var round = 0; round < 6; round++)
        {
            // A random moment of the run: early ones hit listing and planning, later ones tasks, commits and publishing.
            if (await KillAfterAsync("merge-files", next, TimeSpan.FromMilliseconds(random.Next(150, 900))))
            {
                kills++;
            }

            next = ["resume", RunId, "--store", store, "--progress", "none", "--json"];
            if (File.Exists(Path.Combine(store, "_dataflow", "runs", RunId, "summary.json")))
            {
                break;
            }
        }

        var last = File.Exists(Path.Combine(store, "_dataflow", "runs", RunId, "summary.json"))
            ? null
            : await ProgramRunner.RunAsync("merge-files", next);

        Assert.True(kills >= 1, "no driver was killed");
        Assert.True(last is null || last.ExitCode == 0, last?.ToString());
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference, "output", "merged.txt")), File.ReadAllBytes(Path.Combine(store, "output", "merged.txt")));
        var temporary = Path.Combine(store, ".dataflow-tmp");
        Assert.True(!Directory.Exists(temporary) || Directory.GetFiles(temporary).Length == 0, "temporary files were left behind");
        var data = Path.Combine(store, "_dataflow", "runs", RunId, "data");
        Assert.True(!Directory.Exists(data) || Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length == 0, "intermediates were left behind");
    }

    /// <summary>Starts <paramref name="program"/> and SIGKILLs it once <paramref name="condition"/> holds (it must still be running then).</summary>
    private static async Task KillWhenAsync(string program, string[] args, Func<bool> condition)
    {
        using var driver = Process.Start(ProgramRunner.StartInfo(program, args))!;
        var stdout = driver.StandardOutput.ReadToEndAsync();
        var stderr = driver.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow + ProgramRunner.Patience;
        while (!condition() && !driver.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        var ended = driver.HasExited;
        driver.Kill(entireProcessTree: false);
        await driver.WaitForExitAsync();
        Assert.False(ended, $"the driver ended before it could be killed:{Environment.NewLine}{await stderr}");
        await Task.WhenAll(stdout, stderr);
    }

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
