using System.Globalization;
using Dataflow.TestWorker;

namespace Dataflow.Worker.Tests.Executors;

/// <summary>
/// Speculative attempts in worker processes (tests/Dataflow.TestWorker): backups on free workers never change the
/// output, the first attempt to report its commit is the task's, and the other's worker is killed before the run ends.
/// </summary>
public sealed class ProcessSpeculationTests : IDisposable
{
    private const int Inputs = 16; // 15 tasks: 8, 4, 2, 1

    private readonly TempFolder _folder = new();
    private readonly TempFolder _traces = new();
    private readonly IObjectStore _store;

    public ProcessSpeculationTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose()
    {
        _folder.Dispose();
        _traces.Dispose();
    }

    [Fact]
    public async Task ForcedBackups_GiveThePlainOutputAndOneCommitPerTask()
    {
        var expected = await Dataflow.Testing.Inputs.WriteAsync(_store, Inputs, size: 3);

        var summary = await RunAsync("forced", Tasks.SpeculationTests.Forced);

        Assert.Equal(expected, await _store.ReadAllBytesAsync(PoolTestJob.Output));
        Assert.True(summary.SpeculativeAttempts > 0, "no backup attempt ran: the test proves nothing");
        Assert.Equal(0, summary.IntermediateObjectsLeft);
        var layout = new RunLayout("forced");
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(layout.ReportKey));
        Assert.Equal(summary.SpeculativeAttempts, report.Attempts.Count(a => a.Speculative == true));
        var committed = report.Attempts.Where(a => a.Outcome == AttemptOutcomes.Committed).ToList();
        Assert.Equal(15, committed.Count);
        Assert.Equal(15, committed.Select(a => (a.Stage, a.Task)).Distinct().Count());

        // What readers take as each task's commit (the smallest attempt id) is the attempt the report says committed.
        var winners = await CommitIndex.LoadAllAsync(_store, layout, CancellationToken.None);
        Assert.Equal(15, winners.Count);
        Assert.All(winners, w => Assert.Contains(committed, a => a.Stage == w.Key.Stage && a.Task == w.Key.Index && a.Attempt == w.Value.Attempt));
        Assert.Empty(await _store.ListAllAsync(layout.DataPrefix));
        AssertNoWorkerRuns();
    }

    [Fact]
    public async Task Straggler_ItsBackupWins_TheStragglersWorkerIsKilled()
    {
        var expected = await Dataflow.Testing.Inputs.WriteAsync(_store, Inputs, size: 3);
        var straggler = new TaskId(1, 1);
        await File.WriteAllTextAsync(PoolTestJob.HangFile(_traces.Path, straggler, attempt: 1), "");
        var speculation = new SpeculationOptions { Multiplier = 0, Floor = TimeSpan.FromMilliseconds(100), Quantile = 0.5, Interval = TimeSpan.FromMilliseconds(10) };

        var summary = await RunAsync("straggler", speculation);

        Assert.Equal(expected, await _store.ReadAllBytesAsync(PoolTestJob.Output));
        // Other tasks slow on a loaded machine may get backups too: the straggler's is the one that must win.
        Assert.InRange(summary.SpeculativeWins, 1, summary.SpeculativeAttempts);
        Assert.Equal(0, summary.Retries);
        var layout = new RunLayout("straggler");
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(layout.ReportKey));
        var attempts = report.Attempts.Where(a => a.Stage == straggler.Stage && a.Task == straggler.Index).OrderBy(a => a.Attempt).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Equal((AttemptOutcomes.Cancelled, "superseded by attempt 2", (bool?)null), (attempts[0].Outcome, attempts[0].Error, attempts[0].Speculative));
        Assert.Equal((AttemptOutcomes.Committed, (bool?)true), (attempts[1].Outcome, attempts[1].Speculative));
        Assert.Equal(2, (await CommitIndex.LoadAllAsync(_store, layout, CancellationToken.None))[straggler].Attempt);
        Assert.Equal(0, summary.IntermediateObjectsLeft);

        // On a loaded machine the backup may start, and win, before the first attempt's worker reached the operator (and
        // wrote down its pid): then that attempt was superseded earlier, and no worker of the run may be left either way.
        var hanging = PoolTestJob.HangingFile(_traces.Path, straggler);
        if (File.Exists(hanging))
        {
            var hung = int.Parse(await File.ReadAllTextAsync(hanging), CultureInfo.InvariantCulture);
            Assert.False(IsRunning(hung), "the straggler's worker outlived its run");
        }

        AssertNoWorkerRuns();
    }

    private async Task<RunSummary> RunAsync(string runId, SpeculationOptions speculation)
    {
        var options = new JobRunnerOptions
        {
            RunId = runId,
            Concurrency = 3,
            MaxAttempts = 1,
            RetryDelay = TimeSpan.Zero,
            Arguments = [],
            Speculation = speculation,
            Executor = Executor.WorkerProcesses(new ProcessExecutorOptions
            {
                Command = ["dotnet", TestWorkerProgram.Path()],
                Environment = new Dictionary<string, string> { [PoolTestJob.FolderVariable] = _traces.Path },
            }),
        };
        var result = await new JobRunner(_store, options).RunAsync(PoolTestJob.Create(_traces.Path)).WaitAsync(TimeSpan.FromMinutes(3));
        return result.Summary;
    }

    private void AssertNoWorkerRuns() =>
        Assert.All(PoolTestJob.TracedAttempts(_traces.Path).Select(a => a.Pid).Distinct(), p => Assert.False(IsRunning(p), $"worker process {p} outlived its run"));

    private static bool IsRunning(int pid) => Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
}
