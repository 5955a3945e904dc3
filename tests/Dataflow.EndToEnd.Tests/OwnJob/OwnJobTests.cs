using System.Diagnostics;
using System.Globalization;
using Dataflow.EndToEnd.Tests.Architecture;

namespace Dataflow.EndToEnd.Tests.OwnJob;

/// <summary>
/// tests/Dataflow.OwnJob — a program of its own, README.md's "Worker processes for a program of your own" — defines a
/// job with an operator of its own, runs it from code with worker processes (the program is its own worker through
/// <see cref="DataflowCommands"/>), and after the driver is killed mid-run the run is resumed from code and from the
/// program's command line, with the same sum as a run that was never killed.
/// </summary>
public sealed class OwnJobTests : IDisposable
{
    // 64 inputs, fan-in 4: 16 + 4 + 1 tasks.
    private const int Inputs = 64;
    private const int Tasks = 21;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-own-job", Guid.NewGuid().ToString("N"));

    public OwnJobTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task OwnJob_RunFromCode_SumsEveryInputInWorkerProcesses()
    {
        var store = CreateStore("run");

        var result = await RunAsync([store]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var summary = result.Json();
        Assert.Equal("succeeded", summary.GetProperty("status").GetString());
        Assert.Equal(Tasks, summary.GetProperty("tasksRun").GetInt32());
        Assert.Equal(ExpectedSum, ReadSum(store));
        Assert.Equal("process", ReportExecutor(store, summary.GetProperty("runId").GetString()!));
    }

    [Fact]
    public async Task OwnJob_DriverKilledMidRun_ResumesFromCodeSkippingWhatCommitted()
    {
        var store = CreateStore("from-code");
        var (runId, before) = await KillMidRunAsync(store);

        var resumed = await RunAsync([store, "--resume"]);

        AssertResumed(resumed, store, runId, before);
    }

    [Fact]
    public async Task OwnJob_DriverKilledMidRun_ResumesFromTheCommandLineWithWorkerProcesses()
    {
        var store = CreateStore("from-command-line");
        var (runId, before) = await KillMidRunAsync(store);

        var status = await RunAsync(["status", runId, "--store", store, "--json"]);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal("interrupted", status.Json().GetProperty("state").GetString());
        Assert.Equal(["input/", "output/sum.txt"], status.Json().GetProperty("arguments").EnumerateArray().Select(a => a.GetString()));
        var runs = await RunAsync(["runs", "--store", store, "--json"]);
        Assert.True(runs.ExitCode == 0, runs.ToString());
        Assert.Contains(runs.Json().EnumerateArray(), r => r.GetProperty("runId").GetString() == runId && r.GetProperty("job").GetString() == "sum-numbers");

        var resumed = await RunAsync(["resume", runId, "--store", store, "--executor", "process", "--concurrency", "2", "--json", "--progress", "none"]);

        AssertResumed(resumed, store, runId, before);
    }

    [Fact]
    public async Task OwnJob_CtrlC_RunCancelledExceptionNamesTheStoredRun()
    {
        var store = CreateStore("cancelled");
        string runId;
        ProgramResult result;
        using (var driver = Signals.StartWithDefaultSigInt(StartInfo([store], delayMs: 150)))
        {
            var stdout = driver.StandardOutput.ReadToEndAsync();
            var stderr = driver.StandardError.ReadToEndAsync();
            runId = await WaitForCommitsAsync(store, driver, stderr);
            Assert.Equal(0, Signals.Interrupt(driver.Id));
            await driver.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);
            result = new ProgramResult(driver.ExitCode, await stdout, await stderr);
        }

        Assert.True(result.ExitCode == ExitCodes.Cancelled, result.ToString());
        Assert.Contains($"run {runId} cancelled after ", result.Stderr, StringComparison.Ordinal);
        var status = await RunAsync(["status", runId, "--store", store, "--json"]);
        Assert.Equal("cancelled", status.Json().GetProperty("state").GetString());
    }

    [Fact]
    public void Readme_ProgramOfYourOwn_IsTheProgramTheseTestsRun()
    {
        var program = File.ReadAllText(Path.Combine(Repository.Root, "tests", "Dataflow.OwnJob", "Program.cs")).ReplaceLineEndings("\n");
        var blocks = ReadmeBlocks.Parse(File.ReadAllText(Path.Combine(Repository.Root, "README.md")));

        var block = Assert.Single(blocks, b => b.Code.Contains("DataflowCommands.TryRunAsync(args, DefineJob)", StringComparison.Ordinal));
        Assert.Equal(program, block.Code);
        Assert.Equal(["tests/Dataflow.OwnJob/SumOperator.cs"], block.Files);
    }

    private static long ExpectedSum => Enumerable.Range(0, Inputs).Sum(i => (long)i * 11 - 3);

    /// <summary>A folder store with <see cref="Inputs"/> objects of two numbers each (one negative for some).</summary>
    private string CreateStore(string name)
    {
        var store = Path.Combine(_root, name);
        var input = Directory.CreateDirectory(Path.Combine(store, "input"));
        for (var i = 0; i < Inputs; i++)
        {
            File.WriteAllText(Path.Combine(input.FullName, $"{i:D3}.txt"), string.Create(CultureInfo.InvariantCulture, $"{i * 10}\n{i - 3}\n"));
        }

        return store;
    }

    private static long ReadSum(string store) =>
        long.Parse(File.ReadAllText(Path.Combine(store, "output", "sum.txt")).Trim(), CultureInfo.InvariantCulture);

    private static string? ReportExecutor(string store, string runId)
    {
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(store, "_dataflow", "runs", runId, "report.json")));
        return report.RootElement.GetProperty("executor").GetString();
    }

    /// <summary>Runs the program with worker processes and kills its driver (not its workers) once two tasks committed.</summary>
    /// <returns>The run's id and the commit records of the tasks that committed before the kill.</returns>
    private static async Task<(string RunId, Dictionary<string, List<string>> Before)> KillMidRunAsync(string store)
    {
        string runId;
        using (var driver = Process.Start(StartInfo([store], delayMs: 150))!)
        {
            var stdout = driver.StandardOutput.ReadToEndAsync();
            var stderr = driver.StandardError.ReadToEndAsync();
            runId = await WaitForCommitsAsync(store, driver, stderr);
            driver.Kill(entireProcessTree: false);
            await driver.WaitForExitAsync();
            await Task.WhenAll(stdout, stderr);
        }

        // Workers the driver started may still finish their task; their stdin closed, they exit then.
        await WorkerProcesses.WaitForExitAsync(store);
        Assert.Empty(WorkerProcesses.Find(store));
        var before = CommitFiles.ByTask(Commits(store, runId));
        Assert.True(before.Count is >= 2 and < Tasks, $"{before.Count} tasks committed when the driver was killed: {string.Join(", ", before.Keys)}");
        Assert.False(File.Exists(Path.Combine(store, "_dataflow", "runs", runId, "summary.json")));
        Assert.False(File.Exists(Path.Combine(store, "output", "sum.txt")));
        return (runId, before);
    }

    /// <summary>Waits until the driver's run has two tasks committed; fails if the driver ends first.</summary>
    /// <returns>The run's id.</returns>
    private static async Task<string> WaitForCommitsAsync(string store, Process driver, Task<string> stderr)
    {
        var runs = Path.Combine(store, "_dataflow", "runs");
        var deadline = DateTime.UtcNow + ProgramRunner.Patience;
        while (!driver.HasExited && DateTime.UtcNow < deadline)
        {
            if (Directory.Exists(runs) && Directory.GetDirectories(runs) is [var run] && CommitFiles.ByTask(Path.Combine(run, "commits")).Count >= 2)
            {
                return Path.GetFileName(run);
            }

            await Task.Delay(20);
        }

        Assert.Fail($"the driver ended, or no run committed two tasks, before it could be stopped:{Environment.NewLine}{(driver.HasExited ? await stderr : "(still running)")}");
        return null;
    }

    private static string Commits(string store, string runId) => Path.Combine(store, "_dataflow", "runs", runId, "commits");

    /// <summary>
    /// The resume of the killed run succeeded with worker processes, running only what had not committed (each task
    /// committed before still has exactly the commit record it had), and summed every input.
    /// </summary>
    private static void AssertResumed(ProgramResult resumed, string store, string runId, Dictionary<string, List<string>> before)
    {
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var summary = resumed.Json();
        Assert.Equal(runId, summary.GetProperty("runId").GetString());
        Assert.Equal("succeeded", summary.GetProperty("status").GetString());
        Assert.Equal(before.Count, summary.GetProperty("tasksSkipped").GetInt32());
        Assert.Equal(Tasks - before.Count, summary.GetProperty("tasksRun").GetInt32());
        Assert.Equal(ExpectedSum, ReadSum(store));
        Assert.Equal("process", ReportExecutor(store, runId));

        var after = CommitFiles.ByTask(Commits(store, runId));
        Assert.Equal(Tasks, after.Count);
        foreach (var (task, records) in before)
        {
            Assert.Equal(records, after[task]);
        }
    }

    private static Task<ProgramResult> RunAsync(string[] args) => ProgramRunner.RunExecutableAsync("dotnet", [ProgramPath(), .. args]);

    /// <summary>The program, built by this project's reference, in its own output folder, run with <c>dotnet</c>; its tasks each wait <paramref name="delayMs"/> first.</summary>
    private static ProcessStartInfo StartInfo(string[] args, int delayMs)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(ProgramPath());
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["OWN_JOB_TASK_DELAY_MS"] = delayMs.ToString(CultureInfo.InvariantCulture);
        return info;
    }

    private static string ProgramPath()
    {
        var program = Path.Combine(Repository.OutputFolder("tests", "Dataflow.OwnJob"), "own-job.dll");
        Assert.True(File.Exists(program), $"{program} is not built: build this test project, which references it");
        return program;
    }
}
