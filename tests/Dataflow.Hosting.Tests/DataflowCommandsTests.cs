using System.Text.Json;

namespace Dataflow.Hosting.Tests;

/// <summary>
/// <see cref="DataflowCommands"/>: the commands of a program that runs its jobs from code. A run started from code
/// with <see cref="JobRunnerOptions.Arguments"/> is resumed from the command line, its job defined again from those
/// arguments; other arguments are left to the program.
/// </summary>
public sealed class DataflowCommandsTests : ConsoleTests
{
    private readonly List<IReadOnlyList<string>> _defined = [];
    private volatile bool _failing;

    /// <summary>The program's job: a merge of arguments[0] into arguments[1], whose last task fails while <see cref="_failing"/>.</summary>
    private Job DefineJob(IReadOnlyList<string> arguments)
    {
        lock (_defined)
        {
            _defined.Add(arguments);
        }

        var op = new ScriptedOperator(new ConcatOperator(), (task, attempt, context, token) =>
            _failing && task == new TaskId(2, 0) ? throw new IOException("not yet") : ValueTask.CompletedTask);
        return Job.Named("code-merge").FromPrefix(arguments[0]).ReduceTree(2, op).WriteTo(arguments[1]);
    }

    private Task<int?> TryRunAsync(params string[] args) =>
        DataflowCommands.TryRunAsync(args, DefineJob, "own-program", Console, CancellationToken.None);

    /// <summary>Runs the job from code, as the program would, with its last task failing: the run is left to resume.</summary>
    private async Task<string> FailFromCodeAsync(IReadOnlyList<string>? arguments)
    {
        var store = ObjectStore.OpenFolder(StorePath);
        await Inputs.WriteAsync(store, 8);
        _failing = true;
        var options = new JobRunnerOptions { Arguments = arguments, MaxAttempts = 1, Concurrency = 2 };
        var failed = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, options).RunAsync(DefineJob(arguments ?? ["input/", "output/merged.txt"])));
        _failing = false;
        lock (_defined)
        {
            _defined.Clear();
        }

        return failed.RunId;
    }

    [Theory]
    [InlineData]
    [InlineData("/data/store")]
    [InlineData("run", "--store", "x")]
    [InlineData("plan")]
    [InlineData("--help")]
    public async Task TryRunAsync_NotOneOfItsCommands_ReturnsNullAndDoesNothing(params string[] args)
    {
        Assert.False(DataflowCommands.IsCommand(args));

        var code = await TryRunAsync(args);

        Assert.Null(code);
        Assert.Empty(Out.ToString());
        Assert.Empty(Error.ToString());
        Assert.Empty(_defined);
    }

    [Fact]
    public async Task TryRunAsync_ResumeOfARunStartedFromCode_DefinesTheJobFromItsStoredArguments()
    {
        var runId = await FailFromCodeAsync(["input/", "output/merged.txt"]);

        var code = await TryRunAsync("resume", runId, "--store", StorePath, "--json", "--progress", "none");

        Assert.True(code == ExitCodes.Success, Error.ToString());
        Assert.All(_defined, arguments => Assert.Equal(["input/", "output/merged.txt"], arguments));
        Assert.NotEmpty(_defined);
        using var summary = JsonDocument.Parse(Out.ToString());
        Assert.Equal(runId, summary.RootElement.GetProperty("runId").GetString());
        Assert.Equal(6, summary.RootElement.GetProperty("tasksSkipped").GetInt32());
        Assert.Equal(1, summary.RootElement.GetProperty("tasksRun").GetInt32());
        Assert.True(File.Exists(Path.Combine(StorePath, "output", "merged.txt")));
        Assert.Contains("own-program: resuming run", Error.ToString(), StringComparison.Ordinal);

        // The resumed run stores the same arguments again: a later resume, or its workers, get them too.
        var plan = await JobRunner.LoadPlanAsync(ObjectStore.OpenFolder(StorePath), runId);
        Assert.Equal(["input/", "output/merged.txt"], plan!.Arguments);
    }

    [Fact]
    public async Task TryRunAsync_ResumeOfARunStartedWithoutArguments_IsAUsageErrorSayingSo()
    {
        var runId = await FailFromCodeAsync(arguments: null);

        var code = await TryRunAsync("resume", runId, "--store", StorePath);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains($"run '{runId}' was started from code without JobRunnerOptions.Arguments", Error.ToString(), StringComparison.Ordinal);
        Assert.Empty(_defined);
    }

    [Fact]
    public async Task TryRunAsync_RunsAndStatus_PrintWhatRunCatalogSays()
    {
        var runId = await FailFromCodeAsync(["input/", "output/merged.txt"]);
        var store = ObjectStore.OpenFolder(StorePath);

        var runs = await TryRunAsync("runs", "--store", StorePath, "--json");
        var listed = Out.ToString();
        Out.GetStringBuilder().Clear();
        var status = await TryRunAsync("status", runId, "--store", StorePath, "--json");

        Assert.Equal(ExitCodes.Success, runs);
        Assert.Equal(ExitCodes.Success, status);
        Assert.Equal(RunCatalog.ToJson(await RunCatalog.ListAsync(store)), listed.Trim());
        Assert.Equal((await RunCatalog.GetStatusAsync(store, runId))!.ToJson(), Out.ToString().Trim());
        using var json = JsonDocument.Parse(Out.ToString());
        Assert.Equal("failed", json.RootElement.GetProperty("state").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("arguments").GetArrayLength());
    }

    [Fact]
    public async Task TryRunAsync_RunAndPlanAreNotItsCommands_WorkerHelpIs()
    {
        Assert.Null(await TryRunAsync("run"));
        Assert.True(DataflowCommands.IsCommand(["worker", "--help"]));

        var code = await TryRunAsync("worker", "--help");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("--serve", Out.ToString(), StringComparison.Ordinal);
    }
}
