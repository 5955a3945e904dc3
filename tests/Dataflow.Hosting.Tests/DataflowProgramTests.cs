namespace Dataflow.Hosting.Tests;

/// <summary>A program of several jobs: each reached by its name, with every command a program of one job has.</summary>
public sealed class DataflowProgramTests : ConsoleTests
{
    /// <summary>Two jobs over the same inputs: "merge" concatenates them, "first" keeps the first of each pair.</summary>
    private static DataflowProgram CreateProgram()
    {
        var merge = new DataflowApp("merge", "Concatenates the inputs.", defaultOutput: "output/merged.txt");
        var fanIn = merge.AddOption("--fan-in", "Objects per task.", 2, "K");
        merge.DefineJob(context => Job.Named("merge").FromPrefix(context.InputPrefix).ReduceTree(context.Get(fanIn), new ConcatOperator()).WriteTo(context.OutputKey));
        var first = new DataflowApp("first", "Keeps the first input of every pair.", defaultOutput: "output/first.txt");
        first.DefineJob(context => Job.Named("first").FromPrefix(context.InputPrefix).ReduceTree(2, new FirstOperator()).WriteTo(context.OutputKey));
        return new DataflowProgram("tools", "Tools for tests.").Add(merge).Add(first);
    }

    private Task<int> RunAsync(DataflowProgram program, params string[] args) =>
        program.RunAsync(args, Console, CancellationToken.None);

    [Fact]
    public async Task RunAsync_Help_ListsTheJobsOnStdout()
    {
        var code = await RunAsync(CreateProgram(), "--help");

        Assert.Equal(ExitCodes.Success, code);
        var help = Out.ToString();
        Assert.Contains("tools <job> [command] [options]", help, StringComparison.Ordinal);
        Assert.Contains("merge  Concatenates the inputs.", help, StringComparison.Ordinal);
        Assert.Contains("first  Keeps the first input of every pair.", help, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NoArguments_UsageErrorWithTheJobsOnStderr()
    {
        var code = await RunAsync(CreateProgram());

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("merge", Error.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, Out.ToString());
    }

    [Fact]
    public async Task RunAsync_UnknownJob_OneLineUsageErrorNamingTheJobs()
    {
        var code = await RunAsync(CreateProgram(), "sort", "--store", StorePath);

        Assert.Equal(ExitCodes.Usage, code);
        var line = Assert.Single(ErrorLines);
        Assert.Equal("tools: 'sort' is not a job of this program; its jobs: merge, first (see --help)", line);
        Assert.False(Directory.Exists(StorePath));
    }

    [Fact]
    public async Task RunAsync_EachJob_RunsItsOwnJobWithItsOwnOptions()
    {
        var program = CreateProgram();
        await using (var store = ObjectStore.OpenFolder(StorePath))
        {
            await Inputs.WriteAsync(store, 8);
        }

        var merged = await RunAsync(program, "merge", "--store", StorePath, "--fan-in", "4", "--json", "--progress", "none");
        var firsts = await RunAsync(program, "first", "run", "--store", StorePath, "--json", "--progress", "none");

        Assert.Equal(ExitCodes.Success, merged);
        Assert.Equal(ExitCodes.Success, firsts);
        var inputs = Directory.GetFiles(Path.Combine(StorePath, "input")).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
        Assert.Equal(inputs.SelectMany(b => b), File.ReadAllBytes(Path.Combine(StorePath, "output", "merged.txt")));
        Assert.Equal(inputs[0], File.ReadAllBytes(Path.Combine(StorePath, "output", "first.txt")));
        Assert.Contains(ErrorLines, l => l.StartsWith("tools merge: run ", StringComparison.Ordinal));
        Assert.Contains(ErrorLines, l => l.StartsWith("tools first: run ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_OptionOfAnotherJob_IsAUsageErrorOfThisOne()
    {
        var code = await RunAsync(CreateProgram(), "first", "--store", StorePath, "--fan-in", "4");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("tools first: ", Assert.Single(ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_Pods_StartTheProgramWithTheJobsNameBeforeTheirCommand()
    {
        var program = CreateProgram();
        await using (var store = ObjectStore.OpenFolder(StorePath))
        {
            await Inputs.WriteAsync(store, 4);
        }

        var code = await RunAsync(program, "merge", "plan", "--store", StorePath, "--emit", "k8s", "--image", "registry.example/tools:1", "--volume-claim", "data", "--run-id", "pods");

        Assert.True(code == ExitCodes.Success, Error.ToString());
        var manifest = Out.ToString();
        Assert.Contains("/app/tools", manifest, StringComparison.Ordinal);
        Assert.DoesNotContain("/app/tools merge", manifest, StringComparison.Ordinal);
        Assert.Matches(@"- merge\s+- worker", manifest);
        Assert.Matches(@"- merge\s+- publish", manifest);
    }

    [Fact]
    public async Task Run_WorkerProcesses_AreStartedWithTheJobsNameBeforeTheirCommand()
    {
        // A stand-in for the program that only writes down how it was started, then fails as a broken worker would.
        var started = Path.Combine(Folder.Path, "started.txt");
        var program = CreateProgram();
        program.Jobs[0].WorkerCommand = ["/bin/sh", "-c", $"printf '%s ' \"$@\" >> '{started}'; exit 3", "sh"];
        await using (var store = ObjectStore.OpenFolder(StorePath))
        {
            await Inputs.WriteAsync(store, 4);
        }

        var code = await RunAsync(program, "merge", "--store", StorePath, "--executor", "process", "--attempts", "1", "--progress", "none");

        Assert.Equal(ExitCodes.Failure, code);
        Assert.StartsWith("merge worker --plan ", File.ReadAllText(started), StringComparison.Ordinal);
    }

    [Fact]
    public void Add_BadOrRepeatedName_Throws()
    {
        var program = new DataflowProgram("tools", "Tools.");
        program.Add(new DataflowApp("merge", "One."));

        Assert.Throws<ArgumentException>(() => program.Add(new DataflowApp("merge", "Two.")));
        Assert.Throws<ArgumentException>(() => program.Add(new DataflowApp("Merge Files", "Three.")));
        Assert.Throws<ArgumentException>(() => program.Add(new DataflowApp("--help", "Four.")));
        Assert.Throws<ArgumentException>(() => program.Add(new DataflowApp("help", "Five.")));
    }

    [Fact]
    public void Add_AJobOfAnotherProgram_Throws()
    {
        var job = new DataflowApp("merge", "One.");
        new DataflowProgram("tools", "Tools.").Add(job);

        Assert.Throws<InvalidOperationException>(() => new DataflowProgram("other", "Other.").Add(job));
    }

    /// <summary>Writes its first input (one task of a tree keeps the first of the first …).</summary>
    private sealed class FirstOperator : IObjectOperator
    {
        public string Name => "first";

        public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
        {
            await using var output = await context.CreateOutputAsync("out", cancellationToken);
            await using var input = await context.Inputs[0].OpenReadAsync(cancellationToken);
            await input.CopyToAsync(output, cancellationToken);
        }
    }
}
