using System.Diagnostics;

namespace Dataflow.EndToEnd.Tests.WordCount;

/// <summary>
/// <c>word-count worker --plan &lt;uri&gt; --serve</c>, the pooled worker of <c>--executor process</c>, driven by hand
/// through its stdin as the driver drives it: one task at a time, one report line each, exit 0 when stdin ends.
/// </summary>
public sealed class WorkerServeTests : IDisposable
{
    private const string Program = "word-count";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>A generated corpus and the stored plan of a word count on it (9 map tasks, 8 reduce tasks); returns the plan's address.</summary>
    private async Task<string> StorePlanAsync(string runId)
    {
        var store = Path.Combine(_root, runId);
        var generated = await ProgramRunner.RunAsync(Program, "generate", "--store", store, "--size", "256KiB", "--objects", "6", "--large-size", "1536KiB", "--seed", "7");
        Assert.True(generated.ExitCode == 0, generated.ToString());
        Assert.Equal(9, await WordCountTests.WriteWordCountPlanAsync(store, runId));
        return new Uri(Path.Combine(store, "_dataflow", "runs", runId, "plan.json")).AbsoluteUri;
    }

    private static Process StartServing(string address, params string[] more)
    {
        var info = ProgramRunner.StartInfo(Program, ["worker", "--plan", address, "--serve", .. more]);
        info.RedirectStandardInput = true;
        return Process.Start(info)!;
    }

    private static string Request(string task, int attempt = 1) => $$"""{"protocol":1,"task":"{{task}}","attempt":{{attempt}}}""";

    [Fact]
    public async Task WorkerServe_TasksOnStdin_RunsEachInTurnReportsEachAndExitsWhenStdinEnds()
    {
        var address = await StorePlanAsync("served");
        string[] tasks = [.. Enumerable.Range(0, 9).Select(i => $"0/{i}"), .. Enumerable.Range(0, 8).Select(i => $"1/{i}")];
        using var worker = StartServing(address);
        var stderr = worker.StandardError.ReadToEndAsync();

        var hello = await worker.StandardOutput.ReadLineAsync();
        var reports = new List<string>();
        foreach (var task in tasks.Append("0/4"))
        {
            // As the driver does: the next task only after the report of the last.
            await worker.StandardInput.WriteLineAsync(Request(task));
            await worker.StandardInput.FlushAsync();
            reports.Add((await worker.StandardOutput.ReadLineAsync().WaitAsync(ProgramRunner.Patience))!);
        }

        worker.StandardInput.Close();
        await worker.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);

        Assert.True(worker.ExitCode == 0, await stderr);
        Assert.Equal($$"""dataflow-worker {"protocol":1,"pid":{{worker.Id}}}""", hello);
        var parsed = reports.Select(TaskWorker.ParseReport).ToList();
        Assert.Equal([.. tasks, "0/4"], parsed.Select(r => r!.Task.ToString()));
        Assert.All(parsed.Take(tasks.Length), r => Assert.Equal("committed", r!.Status));
        Assert.Equal("skipped", parsed[^1]!.Status);
        Assert.Equal(parsed[4]!.AttemptId, parsed[^1]!.AttemptId);
        Assert.Equal(string.Empty, await worker.StandardOutput.ReadToEndAsync());

        // Every task committed as a worker of one task commits it: a record of its own; publishing then succeeds.
        var publish = await ProgramRunner.RunAsync(Program, "publish", "--plan", address);
        Assert.True(publish.ExitCode == 0, publish.ToString());
    }

    [Theory]
    [InlineData("--task", "1")]
    [InlineData("--shard-size", "4")]
    public async Task WorkerServe_WithTasksOnTheCommandLine_ExitsTwo(string option, string value)
    {
        var address = await StorePlanAsync("serve-usage");

        var result = await ProgramRunner.RunAsync(Program, "worker", "--plan", address, "--serve", option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--serve takes its tasks from stdin", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkerServe_RequestOfAnotherProtocol_ExitsTwoQuotingIt()
    {
        var address = await StorePlanAsync("serve-protocol");
        using var worker = StartServing(address);
        var stdout = worker.StandardOutput.ReadToEndAsync();
        var stderr = worker.StandardError.ReadToEndAsync();

        await worker.StandardInput.WriteLineAsync("""{"protocol":7,"task":"0/0","attempt":1}""");
        await worker.StandardInput.FlushAsync();
        await worker.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);

        Assert.Equal(2, worker.ExitCode);
        Assert.Contains("asks for task 0/0 in protocol 7; this worker speaks protocol 1", await stderr, StringComparison.Ordinal);
        Assert.StartsWith("dataflow-worker ", await stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkerHelp_DescribesServe()
    {
        var help = await ProgramRunner.RunAsync(Program, "worker", "--help");

        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--serve", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("--executor process", help.Stdout, StringComparison.Ordinal);
    }
}
