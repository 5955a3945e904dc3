using Xunit.Abstractions;
using Dataflow.TestWorker;

namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// Failures that say what and where: an operator that throws on one job input fails its task with a message naming
/// the task's stage, attempts and inputs — that object among them — on the local executor and in worker processes
/// (whose error text travels back over the task pipe); a permanent failure (<see cref="PermanentTaskException"/>, or an
/// exception type the job's rule names) is attempted once. The job is the process pool's test job
/// (tests/Dataflow.TestWorker), whose operator throws on an input that starts with <see cref="PoolTestJob.Poison"/>.
/// </summary>
public sealed class TaskFailureTests : IDisposable
{
    private const int InputCount = 16; // fan-in 2: task 0/2 reads input/00004.txt and input/00005.txt
    private const string Poisoned = "input/00005.txt";
    private static readonly TaskId s_victim = new(0, 2);

    private readonly TempFolder _folder = new();
    private readonly TempFolder _traces = new();

    private readonly IObjectStore _store;
    private readonly ITestOutputHelper _output;

    public TaskFailureTests(ITestOutputHelper output)
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
        _output = output;
    }

    public void Dispose()
    {
        _folder.Dispose();
        _traces.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunAsync_OperatorThrowsOnOneObject_FailureNamesTheObjectTheStageTaskAndAttempts(bool processes)
    {
        await PoisonAsync("io");

        var failure = await RunFailingAsync(processes, "named", maxAttempts: 2);

        Assert.Contains($"task 0/2 (stage 0 'level-1', task 2, operator 'traced-concat', inputs 'input/00004.txt', '{Poisoned}') failed after 2 attempts: ", failure.Message, StringComparison.Ordinal);
        Assert.Contains("IOException: the disk hiccuped", failure.Message, StringComparison.Ordinal);
        if (processes)
        {
            // The error text came back from the worker that ran the last attempt: its cause, named once, not the
            // worker's own account of the task around it.
            Assert.Contains("running task 0/2 (attempt 2): IOException", failure.Message, StringComparison.Ordinal);
            Assert.Single(failure.Message.Split("job 'pool-test'"), part => part.Length > 0);
            Assert.Single(failure.Message.Split("input/00005.txt").Skip(1));
        }

        var task = Assert.IsType<TaskFailedException>(failure.InnerException);
        Assert.Equal(s_victim, task.Task);
        Assert.Equal(["'input/00004.txt'", $"'{Poisoned}'"], task.Inputs);
        Assert.Equal(2, task.InputCount);
        Assert.Equal(2, task.Attempts);
        Assert.False(task.Permanent);
        var attempts = await AttemptsOfTheVictimAsync("named");
        Assert.Equal([1, 2], attempts);
    }

    [Theory]
    [InlineData(false, "permanent", "PermanentTaskException: a record is not a number")]
    [InlineData(false, "format", "FormatException: a record is not a number")]
    [InlineData(true, "permanent", "PermanentTaskException: a record is not a number")]
    [InlineData(true, "format", "FormatException: a record is not a number")]
    public async Task RunAsync_PermanentFailure_IsAttemptedOnceAndSaysSo(bool processes, string poison, string error)
    {
        await PoisonAsync(poison);

        var failure = await RunFailingAsync(processes, "permanent", maxAttempts: 3);

        Assert.Contains($"inputs 'input/00004.txt', '{Poisoned}') failed permanently after 1 attempt (not retried): ", failure.Message, StringComparison.Ordinal);
        Assert.Contains(error, failure.Message, StringComparison.Ordinal);
        var task = Assert.IsType<TaskFailedException>(failure.InnerException);
        Assert.Equal(s_victim, task.Task);
        Assert.True(task.Permanent);
        Assert.Equal(1, task.Attempts);
        var attempts = await AttemptsOfTheVictimAsync("permanent");
        Assert.Equal([1], attempts);
        Assert.Single(PoolTestJob.TracedAttempts(_traces.Path), a => a.Task == s_victim);
    }

    [Fact]
    public async Task RunAsync_TaskWithManyInputsFails_MessageNamesTheFirstFiveAndHowManyInAll()
    {
        await Inputs.WriteAsync(_store, 13); // fan-in 8: tasks of 7 and 6 inputs
        var op = new ScriptedOperator(new ConcatOperator(), (task, attempt, context, token) =>
            task == new TaskId(0, 0) ? throw new PermanentTaskException("bad") : ValueTask.CompletedTask);
        var job = Job.Named("wide").FromPrefix("input/").ReduceTree(8, op).WriteTo("output/all.txt");

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, new JobRunnerOptions { MaxAttempts = 3, RetryDelay = TimeSpan.Zero }).RunAsync(job));

        Assert.Contains(
            "(stage 0 'level-1', task 0, operator 'concat', inputs 'input/00000.txt', 'input/00001.txt', 'input/00002.txt', 'input/00003.txt', 'input/00004.txt' and 2 more (7 in all)) failed permanently after 1 attempt",
            failure.Message,
            StringComparison.Ordinal);
        var task = Assert.IsType<TaskFailedException>(failure.InnerException);
        Assert.Equal(5, task.Inputs.Count);
        Assert.Equal(7, task.InputCount);
    }

    /// <summary>Writes the inputs, input/00005.txt poisoned with <paramref name="kind"/>.</summary>
    private async Task PoisonAsync(string kind)
    {
        await Inputs.WriteAsync(_store, InputCount, size: 3);
        await _store.PutAsync(Poisoned, System.Text.Encoding.ASCII.GetBytes(PoolTestJob.Poison + kind));
    }

    private async Task<JobFailedException> RunFailingAsync(bool processes, string runId, int maxAttempts)
    {
        var options = new JobRunnerOptions
        {
            RunId = runId,
            Concurrency = 2,
            MaxAttempts = maxAttempts,
            RetryDelay = TimeSpan.Zero,
            Arguments = [],
            Executor = processes
                ? Executor.WorkerProcesses(new ProcessExecutorOptions
                {
                    Command = ["dotnet", TestWorkerProgram.Path()],
                    Environment = new Dictionary<string, string> { [PoolTestJob.FolderVariable] = _traces.Path },
                })
                : Executor.Local,
        };
        var failure = await Assert.ThrowsAsync<JobFailedException>(
            () => new JobRunner(_store, options).RunAsync(PoolTestJob.Create(_traces.Path)).WaitAsync(TimeSpan.FromMinutes(3)));
        Assert.False(await _store.ExistsAsync(PoolTestJob.Output));
        _output.WriteLine(failure.Message);
        return failure;
    }

    /// <summary>The attempts of task 0/2 in the run report, by number.</summary>
    private async Task<int[]> AttemptsOfTheVictimAsync(string runId)
    {
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(new RunLayout(runId).ReportKey));
        var attempts = report.Attempts.Where(a => a.Stage == s_victim.Stage && a.Task == s_victim.Index).ToList();
        Assert.All(attempts, a => Assert.Equal(AttemptOutcomes.Failed, a.Outcome));
        return [.. attempts.Select(a => a.Attempt).Order()];
    }
}
