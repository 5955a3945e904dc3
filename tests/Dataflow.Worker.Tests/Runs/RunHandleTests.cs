namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// Run handles for programs that run jobs from code: what a process executor needs to rebuild the job is checked
/// before a run starts; a run that ends early names itself in its exception; a run's status, as code reads it, has
/// the arguments that define its job again.
/// </summary>
public sealed class RunHandleTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;

    public RunHandleTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    private static Job MergeJob(IObjectOperator op) =>
        Job.Named("handle-test").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");

    private static TaskExecutor Processes() =>
        Executor.WorkerProcesses(new ProcessExecutorOptions { Command = ["dotnet", "/nowhere/program.dll"] });

    [Fact]
    public void Validate_WorkerProcessesWithoutArguments_ThrowsNamingArguments()
    {
        var options = new JobRunnerOptions { Executor = Processes() };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Equal(nameof(JobRunnerOptions.Arguments), error.ParamName);
        Assert.Contains("the process executor's workers define the job again", error.Message, StringComparison.Ordinal);
        Assert.Contains("JobRunnerOptions.Arguments is not set", error.Message, StringComparison.Ordinal);
        Assert.Contains("DataflowCommands.TryRunAsync", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new JobRunner(_store, options));
    }

    [Fact]
    public void Validate_WorkerProcessesWithArguments_Accepts()
    {
        new JobRunnerOptions { Executor = Processes(), Arguments = [] }.Validate();
        new JobRunnerOptions { Executor = Processes(), Arguments = ["input/", "output/x"] }.Validate();
        new JobRunnerOptions { Executor = Executor.Local }.Validate();
    }

    [Fact]
    public void Validate_ArgumentsWithNull_Throws()
    {
        var error = Assert.Throws<ArgumentException>(new JobRunnerOptions { Arguments = ["a", null!] }.Validate);

        Assert.Equal(nameof(JobRunnerOptions.Arguments), error.ParamName);
    }

    [Fact]
    public void NotServing_StartedAsAWorker_SaysToServeFirstNamingThePlan()
    {
        Assert.Null(JobRunner.NotServing(null));
        Assert.Null(JobRunner.NotServing(""));

        var message = JobRunner.NotServing("file:///data/_dataflow/runs/r1/plan.json");

        Assert.NotNull(message);
        Assert.Contains("worker process of the run at 'file:///data/_dataflow/runs/r1/plan.json'", message, StringComparison.Ordinal);
        Assert.Contains("DataflowCommands.TryRunAsync(args, defineJob)", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WorkerProcesses_TellEachWorkerThePlanItMustServe()
    {
        // A worker program that does not serve: it says what it was told to serve, as a JobRunner in it would, and exits.
        await Inputs.WriteAsync(_store, 2);
        var options = new JobRunnerOptions
        {
            RunId = "not-served",
            MaxAttempts = 1,
            Arguments = [],
            Executor = Executor.WorkerProcesses(new ProcessExecutorOptions { Command = ["sh", "-c", "echo \"told to serve: $DATAFLOW_WORKER_PLAN\" >&2; exit 3"] }),
        };

        var failed = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, options).RunAsync(MergeJob(new ConcatOperator())).WaitAsync(TimeSpan.FromMinutes(1)));

        Assert.Contains($"told to serve: {_store.GetUri(new RunLayout("not-served").PlanKey)}", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Cancelled_RunCancelledExceptionCarriesTheRunIdAndTheStoredSummary()
    {
        await Inputs.WriteAsync(_store, 8);
        using var cancel = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task.Stage == 1)
            {
                started.TrySetResult();
                await Task.Delay(Timeout.Infinite, token);
            }
        });
        var run = new JobRunner(_store, new JobRunnerOptions { Concurrency = 2 }).RunAsync(MergeJob(op), cancellationToken: cancel.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await cancel.CancelAsync();
        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));

        var listed = Assert.Single(await RunCatalog.ListAsync(_store));
        Assert.Equal(listed.RunId, cancelled.RunId);
        Assert.Equal("handle-test", cancelled.Job);
        Assert.Equal(cancel.Token, cancelled.CancellationToken);
        Assert.NotNull(cancelled.Summary);
        Assert.Equal("cancelled", cancelled.Summary.Status);
        Assert.Equal(listed.Summary, cancelled.Summary);
        Assert.InRange(cancelled.Summary.TasksRun, 2, 6);
        Assert.Contains(cancelled.RunId, cancelled.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Failed_JobFailedExceptionCarriesTheRunIdToResume()
    {
        await Inputs.WriteAsync(_store, 8);
        var fail = true;
        var op = new ScriptedOperator(new ConcatOperator(), (task, attempt, context, token) =>
            Volatile.Read(ref fail) && task.Stage == 2 ? throw new InvalidOperationException("not yet") : ValueTask.CompletedTask);
        var runner = new JobRunner(_store, new JobRunnerOptions { Concurrency = 2, MaxAttempts = 1 });

        var failed = await Assert.ThrowsAsync<JobFailedException>(() => runner.RunAsync(MergeJob(op)));
        Volatile.Write(ref fail, false);
        var resumed = await runner.ResumeAsync(MergeJob(op), failed.RunId);

        Assert.Equal(failed.Summary.RunId, failed.RunId);
        Assert.Equal(failed.RunId, resumed.Summary.RunId);
        Assert.Equal(6, resumed.Summary.TasksSkipped);
        Assert.Equal(1, resumed.Summary.TasksRun);
    }

    [Fact]
    public async Task GetStatusAsync_RunWithArguments_HasThemAndToJsonPrintsThem()
    {
        await Inputs.WriteAsync(_store, 4);
        var result = await new JobRunner(_store, new JobRunnerOptions { Arguments = ["input/", "it's output"] }).RunAsync(MergeJob(new ConcatOperator()));

        var status = await RunCatalog.GetStatusAsync(_store, result.Summary.RunId);
        var runs = await RunCatalog.ListAsync(_store);

        Assert.NotNull(status);
        Assert.Equal(["input/", "it's output"], status.Arguments);
        using var json = System.Text.Json.JsonDocument.Parse(status.ToJson());
        Assert.Equal(["input/", "it's output"], json.RootElement.GetProperty("arguments").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(result.Summary.RunId, json.RootElement.GetProperty("runId").GetString());
        Assert.Equal("succeeded", json.RootElement.GetProperty("summary").GetProperty("status").GetString());
        Assert.Equal([2, 1], json.RootElement.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("committed").GetInt32()));
        using var listing = System.Text.Json.JsonDocument.Parse(RunCatalog.ToJson(runs));
        Assert.Equal(result.Summary.RunId, Assert.Single(listing.RootElement.EnumerateArray()).GetProperty("runId").GetString());
        using var one = System.Text.Json.JsonDocument.Parse(runs[0].ToJson(indented: true));
        Assert.Equal("succeeded", one.RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task GetStatusAsync_RunWithoutArguments_HasNone()
    {
        await Inputs.WriteAsync(_store, 2);
        var result = await new JobRunner(_store).RunAsync(MergeJob(new ConcatOperator()));

        var status = await RunCatalog.GetStatusAsync(_store, result.Summary.RunId);

        Assert.NotNull(status);
        Assert.Null(status.Arguments);
        using var json = System.Text.Json.JsonDocument.Parse(status.ToJson());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.RootElement.GetProperty("arguments").ValueKind);
    }
}
