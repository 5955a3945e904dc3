using System.Text.Json;

namespace Dataflow.Hosting.Tests;

/// <summary><c>--speculate</c> and <c>--speculate-after</c>: on by default, off when asked, refused where they cannot work.</summary>
public sealed class SpeculateOptionTests : ConsoleTests
{
    private static readonly TaskId s_straggler = new(0, 1);

    /// <summary>A merge of 8 objects whose task 0/1 works for <paramref name="straggle"/> on its first attempt (cancellably).</summary>
    private static DataflowApp CreateApp(TimeSpan straggle)
    {
        var app = new DataflowApp("test-speculate", "Merges things for tests.", defaultOutput: "output/merged.txt");
        app.DefineJob(context =>
        {
            var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, _, token) =>
            {
                if (task == s_straggler && attempt == 1)
                {
                    await Task.Delay(straggle, token);
                }
            });
            return Job.Named("test-speculate").FromPrefix(context.InputPrefix).ReduceTree(2, op).WriteTo(context.OutputKey);
        });
        app.BeforeRun(async (context, token) => await Inputs.WriteAsync(context.Store, 8, prefix: context.InputPrefix));
        return app;
    }

    [Fact]
    public async Task Run_ByDefault_AStragglerGetsABackupThatFinishesIt()
    {
        // The first attempt never ends by itself: only a backup can finish the task.
        var code = await CreateApp(Timeout.InfiniteTimeSpan).RunAsync(["--store", StorePath, "--speculate-after", "50ms", "--json", "--progress", "none"], Console, CancellationToken.None);

        Assert.Equal(ExitCodes.Success, code);
        using var summary = JsonDocument.Parse(Out.ToString());
        Assert.True(summary.RootElement.GetProperty("speculativeAttempts").GetInt32() >= 1);
        Assert.True(summary.RootElement.GetProperty("speculativeWins").GetInt32() >= 1);
    }

    [Fact]
    public async Task Run_SpeculateOff_NoBackupAttempt()
    {
        var code = await CreateApp(TimeSpan.FromSeconds(2)).RunAsync(["--store", StorePath, "--speculate", "off", "--speculate-after", "50ms", "--json", "--progress", "none"], Console, CancellationToken.None);

        Assert.Equal(ExitCodes.Success, code);
        using var summary = JsonDocument.Parse(Out.ToString());
        Assert.Equal(0, summary.RootElement.GetProperty("speculativeAttempts").GetInt32());
        Assert.Equal(summary.RootElement.GetProperty("tasks").GetInt32(), summary.RootElement.GetProperty("attempts").GetInt32());
    }

    [Theory]
    [InlineData("--speculate", "maybe")]
    [InlineData("--speculate-after", "soon")]
    [InlineData("--speculate-after", "infinite")]
    public async Task Run_BadValue_OneLineUsageError(params string[] args)
    {
        var code = await CreateApp(TimeSpan.Zero).RunAsync(["--store", StorePath, .. args], Console, CancellationToken.None);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(args[0], Assert.Single(ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SpeculateOnWithKubernetes_IsRefusedNamingTheOption()
    {
        var code = await CreateApp(TimeSpan.Zero).RunAsync(["--store", StorePath, "--executor", "kubernetes", "--speculate", "on", "--image", "example/merge:1"], Console, CancellationToken.None);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--speculate on: the kubernetes executor runs tasks in shards of pods", Error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_KubernetesWithoutSpeculate_IsNotRefusedForIt()
    {
        // Whatever else this run lacks (a cluster), speculation on by default is no reason to refuse it.
        await CreateApp(TimeSpan.Zero).RunAsync(["--store", StorePath, "--executor", "kubernetes", "--image", "example/merge:1"], Console, CancellationToken.None);

        Assert.DoesNotContain("--speculate", Error.ToString(), StringComparison.Ordinal);
    }
}
