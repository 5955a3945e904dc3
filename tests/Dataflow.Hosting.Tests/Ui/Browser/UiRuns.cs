namespace Dataflow.Hosting.Tests.Ui.Browser;

/// <summary>
/// Runs of every state in a folder store, made in this process by the runtime (a seed cascade over
/// <see cref="InputCount"/> one-letter inputs): succeeded, failed (a task that always fails), cancelled (through its
/// token), interrupted (a plan without summary, as a killed driver leaves) and running (held by a gate).
/// </summary>
internal sealed class UiRuns(IObjectStore store)
{
    /// <summary>The inputs every run merges: a tree of 15 tasks in 4 stages (8, 4, 2, 1).</summary>
    public const int InputCount = 16;

    /// <summary>The inputs of the task that <see cref="FailedAsync"/> fails: stage 0, task 2.</summary>
    public static readonly string[] FailingInputs = ["input/00004.txt", "input/00005.txt"];

    /// <summary>Writes the inputs; call once first.</summary>
    public Task WriteInputsAsync() => Inputs.WriteAsync(store, InputCount);

    public async Task<string> SucceededAsync(string output) =>
        (await Runner().RunAsync(Job(output, (_, _) => ValueTask.CompletedTask))).Summary.RunId;

    /// <summary>A run whose task 2 of stage 0 fails both its attempts with <paramref name="error"/> (an <see cref="IOException"/>).</summary>
    public async Task<string> FailedAsync(string output, string error, IReadOnlyList<string>? arguments = null)
    {
        var runner = Runner(new JobRunnerOptions { MaxAttempts = 2, RetryDelay = TimeSpan.Zero, Gc = GcMode.Never, Arguments = arguments });
        var failed = await Assert.ThrowsAsync<JobFailedException>(() => runner.RunAsync(Job(output, (task, _) =>
            task == new TaskId(0, 2) ? throw new IOException(error) : ValueTask.CompletedTask)));
        return failed.RunId;
    }

    /// <summary>A partial run: task 2 of stage 0 fails permanently, and its operator and a budget of 2 inputs tolerate it.</summary>
    public async Task<string> PartialAsync(string output)
    {
        var runner = Runner(new JobRunnerOptions { MaxFailedInputs = FailureTolerance.Inputs(2) });
        var result = await runner.RunAsync(Job(output, (task, _) =>
            task == new TaskId(0, 2) ? throw new PermanentTaskException("a corrupt input") : ValueTask.CompletedTask, tolerates: true));
        Assert.True(result.Summary.Partial);
        return result.Summary.RunId;
    }

    /// <summary>A run cancelled through its token while a task of stage 1 waits.</summary>
    public async Task<string> CancelledAsync(string output)
    {
        using var cancel = new CancellationTokenSource();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Runner().RunAsync(
            Job(output, async (task, token) =>
            {
                if (task.Stage == 1)
                {
                    entered.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }
            }),
            cancellationToken: cancel.Token);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await cancel.CancelAsync();
        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => running);
        return cancelled.RunId;
    }

    /// <summary>A run that failed and then lost its summary and report: a plan and commits without summary, as a killed driver leaves them.</summary>
    public async Task<string> InterruptedAsync(string output)
    {
        var runId = await FailedAsync(output, "not now");
        await store.DeleteAsync([RunIds.RecordsPrefix(runId) + "summary.json", RunIds.RecordsPrefix(runId) + "report.json"]);
        return runId;
    }

    /// <summary>A run that runs until <see cref="RunningRun.Release"/>: its tasks of stage 2 wait, those below commit.</summary>
    public async Task<RunningRun> StartRunningAsync(string output)
    {
        var runId = RunIds.New();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Runner(new JobRunnerOptions { RunId = runId }).RunAsync(Job(output, async (task, token) =>
        {
            if (task.Stage == 2)
            {
                entered.TrySetResult();
                await gate.Task.WaitAsync(token);
            }
        }));
        await Task.WhenAny(entered.Task, running).WaitAsync(TimeSpan.FromSeconds(60));
        if (running.IsCompleted)
        {
            await running; // it failed before reaching the gate: say why
            throw new InvalidOperationException($"run {runId} ended before its gate");
        }

        return new RunningRun(runId, gate, running);
    }

    private JobRunner Runner(JobRunnerOptions? options = null) => new(store, options ?? new JobRunnerOptions());

    // Each task takes 10 ms or more, so that a run's timeline has something to show.
    private static Job Job(string output, Func<TaskId, CancellationToken, ValueTask> before, bool tolerates = false)
    {
        IObjectOperator op = new ScriptedOperator(new CopyConcatOperator(), async (task, _, _, token) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), token);
            await before(task, token);
        });
        return Core.Job.Named("merge-letters").FromPrefix("input/").ReduceTree(2, tolerates ? new TolerantOperator(op) : op).WriteTo(output);
    }

    /// <summary>An operator that declares its failed tasks may be tolerated (<see cref="IObjectOperator.ToleratesFailedTasks"/>).</summary>
    private sealed class TolerantOperator(IObjectOperator inner) : IObjectOperator
    {
        public string Name => inner.Name;

        public bool ToleratesFailedTasks => true;

        public ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken) => inner.ExecuteAsync(context, cancellationToken);
    }
}

/// <summary>A run held at a gate: <see cref="Release"/> lets it finish, <see cref="Completion"/> ends with it.</summary>
internal sealed record RunningRun(string RunId, TaskCompletionSource Gate, Task<RunResult> Completion) : IAsyncDisposable
{
    public void Release() => Gate.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await Completion.WaitAsync(TimeSpan.FromSeconds(60));
    }
}
