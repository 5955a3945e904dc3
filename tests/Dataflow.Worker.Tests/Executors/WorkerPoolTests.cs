using System.Diagnostics;
using System.Globalization;
using Dataflow.TestWorker;

namespace Dataflow.Worker.Tests.Executors;

/// <summary>
/// The process executor's pool with real worker processes (tests/Dataflow.TestWorker, serving a fan-in 2 merge through
/// <see cref="TaskWorker.ServeAsync"/>): workers run many tasks each, a worker killed mid-task or hanging past the task
/// timeout costs only its task an attempt, and no worker outlives its run. Each attempt's operator writes its process
/// id to a file named after the task and attempt, so the tests see which process ran what.
/// </summary>
public sealed class WorkerPoolTests : IDisposable
{
    private const int Inputs = 16; // 15 tasks: 8, 4, 2, 1

    private readonly TempFolder _folder = new();
    private readonly TempFolder _traces = new();
    private readonly IObjectStore _store;

    public WorkerPoolTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose()
    {
        _folder.Dispose();
        _traces.Dispose();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task RunAsync_PooledWorkers_EachRunSeveralTasksInTurnAndExitWithTheRun(int concurrency)
    {
        var expected = await Dataflow.Testing.Inputs.WriteAsync(_store, Inputs, size: 3);

        var result = await RunAsync(Options("pool", concurrency));

        Assert.Equal(expected, await _store.ReadAllBytesAsync(PoolTestJob.Output));
        Assert.Equal(15, result.Summary.TasksRun);
        Assert.Equal(15, result.Summary.Attempts);
        var attempts = Attempts();
        Assert.Equal(15, attempts.Count);
        Assert.Equal(15, attempts.Select(a => a.Task).Distinct().Count());
        var pids = attempts.Select(a => a.Pid).Distinct().ToList();
        Assert.InRange(pids.Count, 1, concurrency);
        if (concurrency == 1)
        {
            // One process ran all 15 tasks, one after another.
            Assert.Single(pids);
        }

        // The run report shows one row per pooled worker; every worker was told to exit and has.
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(new RunLayout("pool").ReportKey));
        Assert.Equal(Enumerable.Range(1, concurrency).Select(i => $"worker {i}"), report.Rows);
        Assert.All(pids, pid => Assert.False(IsRunning(pid), $"worker process {pid} outlived its run"));
    }

    [Fact]
    public async Task RunAsync_Traced_EachTasksSpanInTheWorkerIsAChildOfTheDriversTaskSpan()
    {
        await Dataflow.Testing.Inputs.WriteAsync(_store, Inputs, size: 3);
        var driverSpans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == DataflowTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = activity =>
            {
                if (activity.OperationName == "dataflow.task")
                {
                    lock (driverSpans)
                    {
                        driverSpans.Add(activity);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var options = Options("traced", concurrency: 2, environment: new Dictionary<string, string> { [PoolTestJob.TracedVariable] = "1" });

        await RunAsync(options);

        // Each attempt ran in a worker span whose parent is the driver's span of that task and attempt (sent with the task).
        var attempts = Attempts();
        Assert.Equal(15, attempts.Count);
        foreach (var (_, task, attempt) in attempts)
        {
            var parts = (await File.ReadAllTextAsync(PoolTestJob.SpanFile(_traces.Path, task, attempt))).Split(' ');
            Activity parent;
            lock (driverSpans)
            {
                parent = Assert.Single(driverSpans, s => s.SpanId.ToHexString() == parts[1]);
            }

            Assert.Equal(parent.TraceId.ToHexString(), parts[0]);
            Assert.Equal(task.Index, parent.GetTagItem(DataflowTracing.TaskTag));
            Assert.Equal(attempt, parent.GetTagItem(DataflowTracing.AttemptTag));
        }
    }

    [Fact]
    public async Task RunAsync_PooledWorkerKilledMidTask_RetriesOnlyThatTaskAndWritesTheCleanRunsOutput()
    {
        var expected = await Dataflow.Testing.Inputs.WriteAsync(_store, Inputs, size: 3);
        var clean = await CleanRunAsync();
        var victim = new TaskId(0, 3);
        await File.WriteAllTextAsync(PoolTestJob.HangFile(_traces.Path, victim, attempt: 1), "");

        var run = RunAsync(Options("killed", concurrency: 2, maxAttempts: 3));
        var pid = await HangingPidAsync(victim, run);
        Process.GetProcessById(pid).Kill(); // SIGKILL
        var result = await run;

        var output = await _store.ReadAllBytesAsync(PoolTestJob.Output);
        Assert.Equal(expected, output);
        Assert.Equal(clean, output);
        Assert.Equal(1, result.Summary.Retries);
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(new RunLayout("killed").ReportKey));
        var byTask = report.Attempts.GroupBy(a => new TaskId(a.Stage, a.Task)).ToDictionary(g => g.Key, g => g.OrderBy(a => a.Attempt).ToList());
        Assert.Equal(15, byTask.Count);
        Assert.Equal([victim], byTask.Where(t => t.Value.Count != 1).Select(t => t.Key));
        var (first, second) = (byTask[victim][0], byTask[victim][1]);
        Assert.Equal(AttemptOutcomes.Failed, first.Outcome);
        Assert.Contains("running task 0/3 (attempt 1)", first.Error, StringComparison.Ordinal);
        Assert.Contains("killed by signal 9", first.Error, StringComparison.Ordinal);
        Assert.Equal(AttemptOutcomes.Committed, second.Outcome);

        // The task ran again in a new process; the other worker's tasks never noticed.
        var attempts = Attempts();
        Assert.Equal(pid, attempts.Single(a => a.Task == victim && a.Attempt == 1).Pid);
        Assert.NotEqual(pid, attempts.Single(a => a.Task == victim && a.Attempt == 2).Pid);
        Assert.Equal(16, attempts.Count);
        Assert.All(attempts.Select(a => a.Pid).Distinct(), p => Assert.False(IsRunning(p), $"worker process {p} outlived its run"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public async Task RunAsync_TaskHangsPastTheTimeout_ItsWorkerIsKilledAndTheTaskRetriedOrFailedAsTheAttemptsSay(int maxAttempts)
    {
        var expected = await Dataflow.Testing.Inputs.WriteAsync(_store, Inputs, size: 3);
        var victim = new TaskId(0, 2);
        await File.WriteAllTextAsync(PoolTestJob.HangFile(_traces.Path, victim, attempt: 1), "");

        // Long enough for a worker to start on a busy machine: only the hanging task may pass it.
        // No backup attempt of the hanging task (it would commit long before the timeout): the timeout is what is tested.
        var options = Options("timeout", concurrency: 2, maxAttempts) with { TaskTimeout = TimeSpan.FromSeconds(8) };
        Exception? failure = null;
        try
        {
            await RunAsync(options);
        }
        catch (JobFailedException ex)
        {
            failure = ex;
        }

        var hung = int.Parse(await File.ReadAllTextAsync(PoolTestJob.HangingFile(_traces.Path, victim)), CultureInfo.InvariantCulture);
        Assert.False(IsRunning(hung), "the worker that passed the timeout was not killed");
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(new RunLayout("timeout").ReportKey));
        var first = report.Attempts.Single(a => a is { Stage: 0, Task: 2, Attempt: 1 });
        Assert.Equal(AttemptOutcomes.Failed, first.Outcome);
        Assert.Contains("timed out after 00:00:08", first.Error, StringComparison.Ordinal);
        if (maxAttempts == 1)
        {
            Assert.NotNull(failure);
            Assert.Equal(victim, Assert.IsType<TaskFailedException>(failure.InnerException).Task);
            Assert.Contains("timed out", failure.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Null(failure);
            Assert.Equal(expected, await _store.ReadAllBytesAsync(PoolTestJob.Output));
            Assert.Equal(AttemptOutcomes.Committed, report.Attempts.Single(a => a is { Stage: 0, Task: 2, Attempt: 2 }).Outcome);
            Assert.NotEqual(hung, Attempts().Single(a => a.Task == victim && a.Attempt == 2).Pid);
        }

        Assert.All(Attempts().Select(a => a.Pid).Distinct(), p => Assert.False(IsRunning(p), $"worker process {p} outlived its run"));
    }

    [Fact]
    public async Task RunAsync_CancelledWhileATaskRuns_KillsEveryWorkerBeforeItReturns()
    {
        await Dataflow.Testing.Inputs.WriteAsync(_store, Inputs, size: 3);
        var victim = new TaskId(0, 1);
        await File.WriteAllTextAsync(PoolTestJob.HangFile(_traces.Path, victim, attempt: 1), "");
        using var cancel = new CancellationTokenSource();

        var run = RunAsync(Options("cancelled", concurrency: 2), cancel.Token);
        var pid = await HangingPidAsync(victim, run);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Contains(pid, Attempts().Select(a => a.Pid));
        Assert.All(Attempts().Select(a => a.Pid).Distinct(), p => Assert.False(IsRunning(p), $"worker process {p} was still running when the cancelled run returned"));
    }

    [Theory]
    [InlineData("dataflow-worker {\"protocol\":99,\"pid\":1}", "it speaks protocol 99; this driver speaks protocol 1")]
    [InlineData("dataflow-task {not json", "it broke the task protocol: 'dataflow-task {not json' does not parse")]
    public async Task RunAsync_WorkerBreaksTheProtocol_FailsAtOnceNamingTheWorkerAndTheTask(string line, string expected)
    {
        await Dataflow.Testing.Inputs.WriteAsync(_store, 2, size: 3);
        var options = Options("protocol", concurrency: 1, maxAttempts: 3, extraArguments: ["--protocol-breaker", line]);

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => RunAsync(options));

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.Contains("worker 1 (pid ", failure.Message, StringComparison.Ordinal);
        Assert.Contains("running task 0/0 (attempt 1)", failure.Message, StringComparison.Ordinal);
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(new RunLayout("protocol").ReportKey));
        Assert.Single(report.Attempts); // not tried again: a worker of another build will not mend
    }

    private async Task<RunResult> RunAsync(JobRunnerOptions options, CancellationToken cancellationToken = default) =>
        await new JobRunner(_store, options).RunAsync(PoolTestJob.Create(_traces.Path), cancellationToken: cancellationToken).WaitAsync(TimeSpan.FromMinutes(3), CancellationToken.None);

    private JobRunnerOptions Options(string runId, int concurrency, int maxAttempts = 1, IReadOnlyList<string>? extraArguments = null, Dictionary<string, string>? environment = null) => new()
    {
        RunId = runId,
        Concurrency = concurrency,
        MaxAttempts = maxAttempts,
        RetryDelay = TimeSpan.Zero,
        Arguments = [],

        // These tests count attempts of killed, hung and failing workers: a backup of a task slow on a loaded machine
        // would add one (speculation has tests of its own).
        Speculation = SpeculationOptions.Off,
        Executor = Executor.WorkerProcesses(new ProcessExecutorOptions
        {
            Command = ["dotnet", TestWorkerProgram.Path()],
            ExtraArguments = extraArguments ?? [],
            Environment = new Dictionary<string, string>(environment ?? []) { [PoolTestJob.FolderVariable] = _traces.Path },
        }),
    };

    /// <summary>The same merge on the local executor, in a store of its own with the same inputs: what a clean run writes.</summary>
    private static async Task<byte[]> CleanRunAsync()
    {
        using var folder = new TempFolder();
        var store = ObjectStore.OpenFolder(folder.Path);
        await Dataflow.Testing.Inputs.WriteAsync(store, Inputs, size: 3);
        await new JobRunner(store, new JobRunnerOptions { RunId = "clean" }).RunAsync(PoolTestJob.Create(folder.Path));
        return await store.ReadAllBytesAsync(PoolTestJob.Output);
    }

    /// <summary>The process id of the worker that hangs in <paramref name="task"/>, once it does.</summary>
    private async Task<int> HangingPidAsync(TaskId task, Task run)
    {
        var file = PoolTestJob.HangingFile(_traces.Path, task);
        while (!File.Exists(file) || (await File.ReadAllTextAsync(file)).Length == 0)
        {
            Assert.False(run.IsCompleted, $"the run ended before task {task} hung: {run.Exception}");
            await Task.Delay(20);
        }

        return int.Parse(await File.ReadAllTextAsync(file), CultureInfo.InvariantCulture);
    }

    private List<(int Pid, TaskId Task, int Attempt)> Attempts() => PoolTestJob.TracedAttempts(_traces.Path);

    /// <summary>True while process <paramref name="pid"/> exists, a zombie included (a worker never waited for).</summary>
    private static bool IsRunning(int pid) => Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
}
