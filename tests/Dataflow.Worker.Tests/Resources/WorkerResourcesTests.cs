using System.Globalization;
using Dataflow.TestWorker;
using Xunit.Abstractions;

namespace Dataflow.Worker.Tests.Resources;

/// <summary>
/// What attempts in worker processes used (tests/Dataflow.TestWorker serving a fan-in 2 merge): each attempt's CPU,
/// peak memory and requests, the stages' totals of them, and a worker's peak against what <c>/proc</c> says.
/// </summary>
public sealed class WorkerResourcesTests(ITestOutputHelper output) : IDisposable
{
    private const int MiB = 1 << 20;

    private readonly TempFolder _folder = new();
    private readonly TempFolder _traces = new();
    private IObjectStore Store => field ??= ObjectStore.OpenFolder(_folder.Path);

    public void Dispose()
    {
        _folder.Dispose();
        _traces.Dispose();
    }

    [Fact]
    public async Task RunAsync_WorkerProcesses_EachStagesFiguresAreTheSumsOfItsAttempts()
    {
        await Inputs.WriteAsync(Store, 16, size: 3);
        var options = new JobRunnerOptions
        {
            RunId = "resources-process",
            Concurrency = 2,
            MaxAttempts = 2,
            RetryDelay = TimeSpan.Zero,
            Arguments = [],
            Executor = Executor.WorkerProcesses(WorkerOptions()),
        };

        // One task fails once: a failed attempt's figures count in its stage's too.
        await File.WriteAllTextAsync(PoolTestJob.FailOnceFile(_traces.Path, new TaskId(1, 1)), "");
        var result = await new JobRunner(Store, options).RunAsync(PoolTestJob.Create(_traces.Path)).WaitAsync(TimeSpan.FromMinutes(3));

        var report = RunRecords.DeserializeReport(await Store.ReadAllBytesAsync(new RunLayout("resources-process").ReportKey));
        Assert.Equal(16, report.Attempts.Count);
        Assert.Single(report.Attempts, a => a.Outcome == AttemptOutcomes.Failed);
        Assert.All(report.Attempts, a =>
        {
            var use = a.Resources ?? throw new Xunit.Sdk.XunitException($"attempt {a.Stage}/{a.Task} #{a.Attempt} has no figures");
            Assert.True(use.CpuUserMs >= 0 && use.CpuSystemMs >= 0, $"attempt {a.Stage}/{a.Task} has no CPU figures");
            Assert.Equal(OperatingSystem.IsLinux(), use.PeakMemoryBytes > 0);
            if (a.Outcome == AttemptOutcomes.Committed)
            {
                // Its commit record at least (the first stage's outputs are references to its inputs: nothing read).
                Assert.True(use.Requests!.Put >= 1, $"attempt {a.Stage}/{a.Task} wrote nothing: {use.Requests}");
            }
        });
        Assert.True(report.Attempts.Sum(a => a.Resources!.CpuUserMs + a.Resources.CpuSystemMs) > 0, "the attempts used no CPU at all");
        Assert.True(report.Attempts.Sum(a => a.Resources!.Requests!.Get) > 0, "the attempts read nothing at all");

        foreach (var stage in report.Stages)
        {
            var attempts = report.Attempts.Where(a => a.Stage == stage.Index).Select(a => a.Resources!).ToList();
            Assert.Equal(stage.Attempts, attempts.Count);
            var totals = stage.Resources!;
            Assert.Equal(attempts.Sum(a => a.CpuUserMs), totals.CpuUserMs);
            Assert.Equal(attempts.Sum(a => a.CpuSystemMs), totals.CpuSystemMs);
            Assert.Equal(attempts.Max(a => a.PeakMemoryBytes), totals.PeakMemoryBytes);
            Assert.Equal(StoreRequestCounts.Sum(attempts.Select(a => a.Requests)).ToString(), totals.Requests!.ToString());
        }

        // The run's: its stages' and its driver's.
        var run = result.Summary.Resources!.Total;
        var driver = result.Summary.Resources.Driver!;
        Assert.Equal(report.Stages.Sum(s => s.Resources!.CpuUserMs) + driver.CpuUserMs, run.CpuUserMs);
        Assert.Equal(report.Stages.Sum(s => s.Resources!.CpuSystemMs) + driver.CpuSystemMs, run.CpuSystemMs);
        var requests = StoreRequestCounts.Sum(report.Stages.Select(s => s.Resources!.Requests));
        requests.Add(driver.Requests);
        Assert.Equal(requests.ToString(), run.Requests!.ToString());
        Assert.True(driver.Requests!.Put > 0, $"the driver stored nothing (the plan?): {driver.Requests}");

        // A committed attempt's marker says what the attempt itself used; the worker's report adds what it asked of the
        // store for the task outside the attempt (the plan's chunk, the lookup of an earlier commit).
        var marker = await CommitIndex.FindAsync(Store, new RunLayout("resources-process"), new TaskId(0, 0), CancellationToken.None);
        var reported = report.Attempts.Single(a => a is { Stage: 0, Task: 0 }).Resources!.Requests!;
        var inMarker = marker!.Resources!.Requests!;
        Assert.All(Enum.GetValues<StoreRequestKind>(), kind => Assert.True(inMarker[kind] <= reported[kind], $"{kind}: the marker says {inMarker}, the report {reported}"));
        Assert.True(reported.Total > inMarker.Total, $"the worker's reads of its plan chunk and commit lookup are not counted: {reported}");
    }

    [Fact]
    public async Task PooledWorker_TaskThatAllocates_ReportsThePeakProcGivesForTheWorkerProcess()
    {
        // Linux: the figure and the test's check both come from /proc.
        const string RunId = "resources-peak";
        const int Allocated = 400;
        await Inputs.WriteAsync(Store, 4, size: 3);
        var inputs = (await Store.ListAllAsync("input/")).Select(i => new PlanInput(i.Key, i.Size) { ETag = i.ETag }).ToList();
        await PlanStore.SaveAsync(Store, JobPlanner.CreatePlan(PoolTestJob.Create(_traces.Path), inputs, RunId, DateTimeOffset.UtcNow));
        await File.WriteAllTextAsync(PoolTestJob.AllocateFile(_traces.Path, new TaskId(0, 0)), Allocated.ToString(CultureInfo.InvariantCulture));

        var worker = PooledWorker.Start(WorkerOptions(), PlanAddress.Format(Store, RunId), slot: 0);
        await using (worker)
        {
            var outcome = await worker.RunAsync(new TaskId(0, 0), 1, null, TimeSpan.FromMinutes(2), TimeProvider.System, CancellationToken.None);
            var report = outcome.Report ?? throw new Xunit.Sdk.XunitException(outcome.Describe(worker, new TaskId(0, 0), 1));
            Assert.Equal(WorkerProtocol.Committed, report.Status);

            // The worker is alive, idle after the task: its high-water mark is the attempt's (reset when it started).
            var proc = VmHwm(worker.ProcessId);
            var peak = report.Resources!.PeakMemoryBytes!.Value;
            output.WriteLine($"attempt's peak {peak} bytes, worker's VmHWM {proc} bytes ({(peak - proc) * 100.0 / proc:F2}%)");
            Assert.False(report.Resources.PeakSinceProcessStart);
            Assert.True(peak >= (long)Allocated * MiB, $"the attempt's peak {peak >> 20} MiB is below the {Allocated} MiB it held");
            Assert.True(Math.Abs(peak - proc) <= proc / 10, $"the attempt's peak {peak >> 20} MiB is not within 10% of VmHWM {proc >> 20} MiB");

            // The next attempt's peak starts again from what the process holds then, not from the first's.
            var next = await worker.RunAsync(new TaskId(0, 1), 1, null, TimeSpan.FromMinutes(2), TimeProvider.System, CancellationToken.None);
            Assert.Equal(WorkerProtocol.Committed, next.Report!.Status);
            Assert.True(next.Report.Resources!.PeakMemoryBytes <= VmHwm(worker.ProcessId), "a peak above the process's high-water mark");
            await worker.StopAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>VmHWM of process <paramref name="pid"/>, in bytes, as /proc gives it.</summary>
    private static long VmHwm(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    private ProcessExecutorOptions WorkerOptions() => new()
    {
        Command = ["dotnet", TestWorkerProgram.Path()],
        Environment = new Dictionary<string, string> { [PoolTestJob.FolderVariable] = _traces.Path },
    };
}
