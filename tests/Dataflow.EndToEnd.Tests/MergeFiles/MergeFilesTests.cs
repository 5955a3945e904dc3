namespace Dataflow.EndToEnd.Tests.MergeFiles;

/// <summary>The main job of the README, run as a process with the options users give it.</summary>
public sealed partial class MergeFilesTests : IDisposable
{
    private const string Program = "merge-files";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public MergeFilesTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string Store(string name = "store") => Path.Combine(_root, name);

    private static async Task<ProgramResult> RunAsync(params string[] args) => await ProgramRunner.RunAsync(Program, args);

    private static void AssertVerified(ProgramResult result, int stages, int tasks)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Equal(stages, json.GetProperty("stages").GetInt32());
        Assert.Equal(tasks, json.GetProperty("tasks").GetInt32());
        Assert.Equal(tasks, json.GetProperty("tasksRun").GetInt32());
        Assert.Equal(0, json.GetProperty("tasksSkipped").GetInt32());
        Assert.Equal(0, json.GetProperty("failed").GetInt32());
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
        Assert.Equal("merge-files", json.GetProperty("job").GetString());
    }

    private static int CountFiles(string folder) =>
        Directory.Exists(folder) ? Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Length : 0;

    [Fact]
    public async Task Default_NoArguments_Runs511TasksIn9StagesVerifiedWithNothingLeft()
    {
        var result = await RunAsync("--json", "--progress", "none");

        AssertVerified(result, stages: 9, tasks: 511);
        var storeLine = result.ErrorLines[0];
        Assert.Contains("(a new folder)", storeLine, StringComparison.Ordinal);
        var folder = new Uri(storeLine.Split(' ')[2]).LocalPath;
        try
        {
            Assert.Equal(512, Directory.GetFiles(Path.Combine(folder, "input")).Length);
            Assert.Equal(512, new FileInfo(Path.Combine(folder, "output", "merged.txt")).Length);
            Assert.Equal(0, CountFiles(Path.Combine(folder, "_dataflow", "runs", result.Json().GetProperty("runId").GetString()!, "data")));
            Assert.All(File.ReadAllBytes(Path.Combine(folder, "output", "merged.txt")), b => Assert.InRange(b, (byte)'A', (byte)'Z'));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Default_TwoRuns_CreateTheSameInputsInDifferentFolders()
    {
        var first = await RunAsync("--store", Store("a"), "--json", "--progress", "none");
        var second = await RunAsync("--store", Store("b"), "--json", "--progress", "none");

        AssertVerified(first, 9, 511);
        AssertVerified(second, 9, 511);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Store("a"), "output", "merged.txt")), File.ReadAllBytes(Path.Combine(Store("b"), "output", "merged.txt")));
    }

    [Fact]
    public async Task Fsync_WithWorkerProcesses_VerifiedAndTheWorkersTakeIt()
    {
        var result = await RunAsync("--store", Store(), "--files", "16", "--fsync", "--executor", "process", "--json", "--progress", "none");
        var worker = await RunAsync("worker", "--help");

        AssertVerified(result, stages: 4, tasks: 15);
        Assert.Equal(16, new FileInfo(Path.Combine(Store(), "output", "merged.txt")).Length);
        Assert.True(worker.ExitCode == 0, worker.ToString());
        Assert.Contains("--fsync", worker.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--files", "1000", "--fan-in", "3" }, 7, 505)]
    [InlineData(new[] { "--files", "1" }, 1, 1)]
    [InlineData(new[] { "--files", "512", "--widths", "64,8,1" }, 3, 73)]
    [InlineData(new[] { "--files", "100", "--fan-in", "7", "--file-size", "3KiB", "--concurrency", "1" }, 3, 19)]
    [InlineData(new[] { "--files", "64", "--min-reference-size", "1GiB", "--gc", "end" }, 6, 63)]
    public async Task Run_Shapes_Verify(string[] args, int stages, int tasks)
    {
        var result = await RunAsync([.. args, "--store", Store(), "--json", "--progress", "none"]);

        AssertVerified(result, stages, tasks);
    }

    [Fact]
    public async Task Help_ListsEveryOption()
    {
        var result = await RunAsync("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[]
        {
            "--files", "--file-size", "--seed", "--fan-in", "--widths", "--min-reference-size", "--store", "--input", "--output",
            "--overwrite", "--gc", "--concurrency", "--attempts", "--task-timeout", "--run-id", "--progress", "--json", "--verbose",
        })
        {
            Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--files", "0")]
    [InlineData("--fan-in", "1")]
    [InlineData("--widths", "8,16,1")]
    [InlineData("--widths", "4,2")]
    [InlineData("--widths", "4,x,1")]
    [InlineData("--widths", "4,2,1", "--fan-in", "2")]
    [InlineData("--file-size", "8MB")]
    [InlineData("--gc", "sometimes")]
    [InlineData("--unknown-option")]
    public async Task Run_BadInput_OneLineErrorExit2AndNothingWritten(params string[] args)
    {
        var result = await RunAsync([.. args, "--store", Store()]);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("merge-files: ", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.False(Directory.Exists(Store()), "a usage error must write nothing");
    }

    [Fact]
    public async Task Run_StoreIsAFile_Exit2AndTheFileUntouched()
    {
        var file = Path.Combine(_root, "not-a-folder");
        await File.WriteAllTextAsync(file, "precious");

        var result = await RunAsync("--store", file);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is a file", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.Equal("precious", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task Run_WidthsLargerThanTheInputs_Exit2NamingTheJob()
    {
        var result = await RunAsync("--files", "10", "--widths", "64,8,1", "--store", Store());

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("job 'merge-files'", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("64", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Store(), "input")), "no input may be created for a shape that cannot fit");
    }

    [Fact]
    public async Task Run_InputsAlreadyThere_UsedAsTheyAreWithANotice()
    {
        var input = Path.Combine(Store(), "input");
        Directory.CreateDirectory(input);
        await File.WriteAllTextAsync(Path.Combine(input, "b.txt"), "world");
        await File.WriteAllTextAsync(Path.Combine(input, "a.txt"), "hello ");

        var result = await RunAsync("--store", Store(), "--json", "--files", "512");

        AssertVerified(result, 1, 1);
        Assert.Contains("using the 2 objects already under 'input/'", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("hello world", await File.ReadAllTextAsync(Path.Combine(Store(), "output", "merged.txt")));
    }

    [Fact]
    public async Task Run_OutputExists_Exit2UnlessOverwrite()
    {
        AssertVerified(await RunAsync("--store", Store(), "--files", "8", "--json"), 3, 7);

        var again = await RunAsync("--store", Store(), "--files", "8");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--overwrite", again.Stderr, StringComparison.Ordinal);

        AssertVerified(await RunAsync("--store", Store(), "--files", "8", "--overwrite", "--json"), 3, 7);
    }

    [Fact]
    public async Task Run_GcNever_KeepsTheIntermediates()
    {
        var result = await RunAsync("--store", Store(), "--files", "64", "--gc", "never", "--min-reference-size", "1GiB", "--json");

        Assert.Equal(0, result.ExitCode);
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean());
        Assert.Equal(62, json.GetProperty("intermediateObjectsLeft").GetInt32());
        var data = Path.Combine(Store(), "_dataflow", "runs", json.GetProperty("runId").GetString()!, "data");
        Assert.Equal(62, CountFiles(data));
    }

    [Fact]
    public async Task Run_OtherInputAndOutput_Honoured()
    {
        var result = await RunAsync("--store", Store(), "--files", "20", "--input", "in/x-", "--output", "results/all.bin", "--json");

        AssertVerified(result, 5, 21);
        Assert.Equal(20, Directory.GetFiles(Path.Combine(Store(), "in")).Length);
        Assert.True(File.Exists(Path.Combine(Store(), "results", "all.bin")));
    }

    [Fact]
    public async Task Run_Interrupted_Exits130AndPublishesNothing()
    {
        // As a terminal starts it: with SIGINT at its default. A non-interactive shell that runs the tests in the
        // background hands its children SIGINT ignored; in such runs (`nohup .ci/run &`) the program went on as if
        // no signal had come, so the disposition is reset here rather than inherited.
        using var process = Signals.StartWithDefaultSigInt(ProgramRunner.StartInfo(Program, ["--store", Store(), "--files", "32", "--file-size", "32MiB", "--progress", "lines"]));
        var stdout = process.StandardOutput.ReadToEndAsync();

        // Wait until the program has opened its store, then press Ctrl+C.
        var firstLine = await process.StandardError.ReadLineAsync().WaitAsync(ProgramRunner.Patience);
        Assert.NotNull(firstLine);
        // kill(2) itself rather than the kill command: no process to start between the line and the signal.
        Assert.Equal(0, Signals.Interrupt(process.Id));

        var rest = await process.StandardError.ReadToEndAsync().WaitAsync(ProgramRunner.Patience);
        await process.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);
        await stdout;

        Assert.True(process.ExitCode == 130, $"exit code {process.ExitCode}; stderr: {firstLine}\n{rest}");
        Assert.Contains("cancelled", rest, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Store(), "output", "merged.txt")));
    }
}
