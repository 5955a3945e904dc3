using System.Text.Json;

namespace Dataflow.Hosting.Tests;

public sealed class DataflowAppTests : ConsoleTests
{
    private static readonly string[] s_summaryFields =
    [
        "schemaVersion", "runId", "job", "verified", "stages", "tasks", "tasksRun", "tasksSkipped", "attempts", "retries",
        "failed", "wallMs", "bytesRead", "bytesWritten", "output", "intermediateObjectsLeft",
    ];

    private static DataflowApp CreateApp(Func<ObjectTaskContext, ValueTask>? before = null, bool verifies = true, bool verdict = true) =>
        CreateApp(before is null ? null : (context, _) => before(context), verifies, verdict);

    /// <summary>The app, whose operator runs <paramref name="before"/> first, with the attempt's cancellation token.</summary>
    private static DataflowApp CreateApp(Func<ObjectTaskContext, CancellationToken, ValueTask>? before, bool verifies = true, bool verdict = true)
    {
        var app = new DataflowApp("test-merge", "Merges things for tests.", defaultOutput: "output/merged.txt");
        var fanIn = app.AddOption("--fan-in", "Objects per task.", 2, "K");
        app.AddOption("--flavour", "An option only this program has.", "plain", "NAME");
        app.DefineJob(context =>
        {
            IObjectOperator op = new ConcatOperator();
            if (before is not null)
            {
                op = new ScriptedOperator(op, (task, attempt, ctx, token) => before(ctx, token));
            }

            return Job.Named("test-merge").FromPrefix(context.InputPrefix).ReduceTree(context.Get(fanIn), op).WriteTo(context.OutputKey);
        });
        app.BeforeRun(async (context, token) =>
        {
            if ((await context.Store.ListAllAsync(context.InputPrefix, token)).Count == 0)
            {
                await Inputs.WriteAsync(context.Store, 8, prefix: context.InputPrefix);
            }
        });
        if (verifies)
        {
            app.Verify((context, result, token) => Task.FromResult(new Verification(verdict, verdict ? "fine" : "the bytes are wrong")));
        }

        return app;
    }

    private Task<int> RunAsync(DataflowApp app, params string[] args) =>
        RunAsync(app, CancellationToken.None, args);

    private Task<int> RunAsync(DataflowApp app, CancellationToken cancellationToken, params string[] args) =>
        app.RunAsync(args, Console, cancellationToken);

    [Fact]
    public async Task RunAsync_Help_ListsEveryOptionOnStdout()
    {
        var code = await RunAsync(CreateApp(), "--help");

        Assert.Equal(ExitCodes.Success, code);
        var help = Out.ToString();
        foreach (var option in new[] { "--fan-in", "--flavour", "--store", "--input", "--output", "--overwrite", "--gc", "--concurrency", "--attempts", "--task-timeout", "--run-id", "--progress", "--json", "--verbose" })
        {
            Assert.Contains(option, help, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--executor", "[default: local]")]
    [InlineData("--gc", "[default: eager]")]
    [InlineData("--task-timeout", "[default: 30m]")]
    [InlineData("--s3-part-size", "[default: 16MiB]")]
    [InlineData("--fan-in", "[default: 2]")]
    [InlineData("--flavour", "[default: plain]")]
    public async Task RunAsync_Help_ShowsDefaultsAsTheyAreWritten(string option, string shown)
    {
        var code = await RunAsync(CreateApp(), "run", "--help");

        Assert.Equal(ExitCodes.Success, code);
        var line = Assert.Single(Out.ToString().Split('\n'), l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal));
        Assert.Contains(shown, line, StringComparison.Ordinal);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(line, @"\[default: "));
    }

    [Theory]
    [InlineData("--fan-in", "abc")]
    [InlineData("--concurrency", "2x")]
    [InlineData("--attempts", "")]
    public async Task RunAsync_NotANumber_SaysSoNamingTheOptionNotTheType(string option, string value)
    {
        var code = await RunAsync(CreateApp(), "--store", StorePath, option, value);

        Assert.Equal(ExitCodes.Usage, code);
        var line = Assert.Single(ErrorLines);
        Assert.Contains($"{option}: '{value}' is not a whole number", line, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_JsonRun_PrintsOneSummaryObjectWithEveryField()
    {
        var code = await RunAsync(CreateApp(), "--store", StorePath, "--json");

        Assert.Equal(ExitCodes.Success, code);
        using var json = JsonDocument.Parse(Out.ToString());
        var root = json.RootElement;
        foreach (var field in s_summaryFields)
        {
            Assert.True(root.TryGetProperty(field, out _), $"summary lacks '{field}'");
        }

        Assert.True(root.GetProperty("verified").GetBoolean());
        Assert.Equal(7, root.GetProperty("tasks").GetInt32());
        Assert.Equal(3, root.GetProperty("stages").GetInt32());
        Assert.Equal(0, root.GetProperty("intermediateObjectsLeft").GetInt32());
        Assert.EndsWith("/output/merged.txt", root.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.Single(Out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task RunAsync_RunSubcommand_DoesWhatTheRootDoes()
    {
        var code = await RunAsync(CreateApp(), "run", "--store", StorePath, "--fan-in", "8");

        Assert.Equal(ExitCodes.Success, code);
        Assert.True(File.Exists(Path.Combine(StorePath, "output", "merged.txt")));
    }

    [Fact]
    public async Task RunAsync_NotVerified_ExitsOne()
    {
        var code = await RunAsync(CreateApp(verdict: false), "--store", StorePath);

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("NOT verified: the bytes are wrong", Error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--no-such-option")]
    [InlineData("--concurrency", "0")]
    [InlineData("--attempts", "many")]
    [InlineData("--gc", "sometimes")]
    [InlineData("--task-timeout", "soon")]
    [InlineData("--run-id", "../x")]
    [InlineData("--fan-in", "1")]
    [InlineData("--output", "../escape.txt")]
    [InlineData("--input", "_dataflow/")]
    public async Task RunAsync_BadArguments_OneLineUsageErrorAndNothingWritten(params string[] args)
    {
        var code = await RunAsync(CreateApp(), ["--store", StorePath, .. args]);

        Assert.Equal(ExitCodes.Usage, code);
        var line = Assert.Single(ErrorLines);
        Assert.StartsWith("test-merge: ", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(StorePath), "nothing may be written for a usage error");
        Assert.Equal(string.Empty, Out.ToString());
    }

    [Fact]
    public async Task RunAsync_StorePathIsAFile_UsageErrorAndTheFileIsUntouched()
    {
        var file = Path.Combine(Folder.Path, "a-file");
        await File.WriteAllTextAsync(file, "keep me");

        var code = await RunAsync(CreateApp(), "--store", file);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("is a file", Assert.Single(ErrorLines), StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(file));
        Assert.Equal([file], Directory.GetFileSystemEntries(Folder.Path));
    }

    [Fact]
    public async Task RunAsync_OutputExists_UsageErrorUnlessOverwrite()
    {
        Assert.Equal(ExitCodes.Success, await RunAsync(CreateApp(), "--store", StorePath));

        Assert.Equal(ExitCodes.Usage, await RunAsync(CreateApp(), "--store", StorePath));
        Assert.Contains("--overwrite", Error.ToString(), StringComparison.Ordinal);

        Assert.Equal(ExitCodes.Success, await RunAsync(CreateApp(), "--store", StorePath, "--overwrite"));
    }

    [Fact]
    public async Task RunAsync_TaskFailsForGood_ExitsOneWithTheTaskInTheErrorAndAFailedSummary()
    {
        // One task fails (with every task of a stage failing, a second running one could fail for good too before the
        // run stops it, as it did on a loaded machine).
        var app = CreateApp(before: context => context.TaskId == new TaskId(1, 0) ? throw new IOException("disk on fire") : ValueTask.CompletedTask);

        var code = await RunAsync(app, "--store", StorePath, "--attempts", "2", "--json");

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("failed after 2 attempts", Error.ToString(), StringComparison.Ordinal);
        Assert.Contains("disk on fire", Error.ToString(), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(Out.ToString());
        Assert.False(json.RootElement.GetProperty("verified").GetBoolean());
        Assert.Equal(1, json.RootElement.GetProperty("failed").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("output").ValueKind);
        Assert.False(File.Exists(Path.Combine(StorePath, "output", "merged.txt")));

        // The error names the job in quotes, and the printed JSON keeps them as written.
        Assert.Contains("'test-merge'", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("'test-merge'", Out.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", Out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Cancelled_Exits130AndPublishesNothing()
    {
        using var cancel = new CancellationTokenSource();
        var app = CreateApp(before: async context =>
        {
            await cancel.CancelAsync();
            await Task.Delay(Timeout.Infinite, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), cancel.Token);
        });

        var code = await RunAsync(app, cancel.Token, "--store", StorePath);

        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.False(File.Exists(Path.Combine(StorePath, "output", "merged.txt")));
    }

    [Fact]
    public async Task RunAsync_CancelledWithJson_PrintsTheCancelledRunsSummary()
    {
        using var cancel = new CancellationTokenSource();
        var app = CreateApp(before: async context =>
        {
            await cancel.CancelAsync();
            await Task.Delay(Timeout.Infinite, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), cancel.Token);
        });

        var code = await RunAsync(app, cancel.Token, "--store", StorePath, "--json", "--run-id", "stopped");

        Assert.Equal(ExitCodes.Cancelled, code);
        using var json = JsonDocument.Parse(Out.ToString());
        Assert.Equal("stopped", json.RootElement.GetProperty("runId").GetString());
        Assert.Equal("cancelled", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("output").ValueKind);
    }

    [Fact]
    public async Task RunAsync_CancelledOnRequestThroughTheStore_Exits130AndSaysWhoAsked()
    {
        // A task asks for the run to be cancelled, as a web UI on another machine would, and waits; the driver finds
        // the request (within about 2 s) and cancels the run.
        var asked = 0;
        var app = CreateApp(before: async (context, token) =>
        {
            if (Interlocked.Exchange(ref asked, 1) == 0)
            {
                await RunCatalog.RequestCancelAsync(ObjectStore.OpenFolder(StorePath), "asked", "ui on test-host/5", "not needed", cancellationToken: token);
            }

            await Task.Delay(Timeout.Infinite, token).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        });

        var code = await RunAsync(app, "--store", StorePath, "--run-id", "asked");

        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.False(File.Exists(Path.Combine(StorePath, "output", "merged.txt")));
        Assert.Contains(ErrorLines, l => l.StartsWith("test-merge: cancelled on request of ui on test-host/5 at ", StringComparison.Ordinal) && l.Contains(": not needed; nothing was published; ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_NoStore_CreatesANewFolderAndPrintsIt()
    {
        var code = await RunAsync(CreateApp(), "--run-id", "cli-test-" + Guid.NewGuid().ToString("N")[..8]);

        Assert.Equal(ExitCodes.Success, code);
        var storeLine = ErrorLines.First();
        Assert.Contains("(a new folder)", storeLine, StringComparison.Ordinal);
        var location = storeLine.Split(' ')[2];
        var path = new Uri(location).LocalPath;
        Assert.True(File.Exists(Path.Combine(path, "output", "merged.txt")));
        Directory.Delete(path, recursive: true);
    }

    [Fact]
    public async Task Status_Plan_PrintsTheStoredPlanAsJson()
    {
        Assert.Equal(ExitCodes.Success, await RunAsync(CreateApp(), "run", "--store", StorePath, "--run-id", "shown"));
        Out.GetStringBuilder().Clear();

        var code = await RunAsync(CreateApp(), "status", "shown", "--store", StorePath, "--plan");

        Assert.Equal(ExitCodes.Success, code);
        var stored = await JobRunner.LoadPlanAsync(ObjectStore.OpenFolder(StorePath), "shown");
        var printed = Dataflow.Worker.PlanJson.Deserialize(Out.ToString());
        Assert.Equal(Dataflow.Worker.PlanJson.Serialize(stored!), Dataflow.Worker.PlanJson.Serialize(printed));
        Assert.Equal(7, printed.TaskCount);
        Assert.Contains("\"dependsOn\"", Out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_PlanOfARunThatDoesNotExist_IsAUsageError()
    {
        Directory.CreateDirectory(StorePath);

        var code = await RunAsync(CreateApp(), "status", "nothing", "--store", StorePath, "--plan");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("nothing", Error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AddOption_DuplicateName_Throws()
    {
        var app = new DataflowApp("x", "y");
        Assert.Throws<ArgumentException>(() => app.AddOption("--store", "again", 1));
    }
}
