using System.Net;
using System.Text.Json;

namespace Dataflow.Hosting.Tests.Ui;

/// <summary>
/// The <c>ui</c> command of a program on <see cref="DataflowApp"/> (and of one that runs its jobs from code): it
/// refuses to serve beyond loopback without a token, prints the address it serves, serves until cancelled, and its
/// resume action resumes a run with the program's own job.
/// </summary>
public sealed class UiCommandTests : ConsoleTests
{
    private static DataflowApp CreateApp(Func<TaskId, bool>? fails = null)
    {
        var app = new DataflowApp("ui-merge", "Merges things for the ui tests.", defaultOutput: "output/merged.txt");
        app.DefineJob(context => Job.Named("ui-merge").FromPrefix(context.InputPrefix)
            .ReduceTree(2, new ScriptedOperator(new ConcatOperator(), (task, attempt, ctx, token) =>
                fails?.Invoke(task) == true ? throw new IOException("not now") : ValueTask.CompletedTask))
            .WriteTo(context.OutputKey));
        app.BeforeRun(async (context, token) =>
        {
            if ((await context.Store.ListAllAsync(context.InputPrefix, token)).Count == 0)
            {
                await Inputs.WriteAsync(context.Store, 8, prefix: context.InputPrefix);
            }
        });
        return app;
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.0.2.1")]
    public async Task Ui_BoundBeyondLoopbackWithoutToken_RefusesToStart(string address)
    {
        Directory.CreateDirectory(StorePath);

        var exitCode = await CreateApp().RunAsync(["ui", "--store", StorePath, "--bind", address, "--port", "0"], Console, CancellationToken.None);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"ui: serving on {IPAddress.Parse(address)} would show the store's runs", Error.ToString());
        Assert.Contains("--token", Error.ToString());
        Assert.Empty(Out.ToString());
    }

    [Fact]
    public async Task Ui_ShortTokenOrUnknownAddress_IsAUsageError()
    {
        Directory.CreateDirectory(StorePath);

        Assert.Equal(ExitCodes.Usage, await CreateApp().RunAsync(["ui", "--store", StorePath, "--token", "short"], Console, CancellationToken.None));
        Assert.Contains("at least 16 characters", Error.ToString());
        Assert.Equal(ExitCodes.Usage, await CreateApp().RunAsync(["ui", "--store", StorePath, "--bind", "example.com"], Console, CancellationToken.None));
        Assert.Contains("is not an IP address", Error.ToString());
    }

    [Fact]
    public async Task Ui_OnAStore_PrintsItsAddress_ServesTheRuns_AndStopsWhenCancelled()
    {
        var app = CreateApp();
        Assert.Equal(ExitCodes.Success, await app.RunAsync(["run", "--store", StorePath], Console, CancellationToken.None));
        using var stop = new CancellationTokenSource();

        var serving = app.RunAsync(["ui", "--store", StorePath, "--port", "0"], Console, stop.Token);
        var address = await PrintedAddressAsync(serving);
        using var http = new HttpClient();
        var runs = JsonDocument.Parse(await http.GetStringAsync(new Uri(address, "api/runs"))).RootElement.GetProperty("runs");
        await stop.CancelAsync();

        Assert.Equal(ExitCodes.Success, await serving);
        Assert.Equal("succeeded", Assert.Single(runs.EnumerateArray()).GetProperty("state").GetString());
        Assert.Equal("127.0.0.1", address.Host);
        Assert.Contains("(read-only; Ctrl+C stops)", Error.ToString());
        Assert.Contains("stopped serving", Error.ToString());
    }

    [Fact]
    public async Task Ui_WithToken_PrintsTheAddressWithIt_AndRefusesRequestsWithout()
    {
        Directory.CreateDirectory(StorePath);
        using var stop = new CancellationTokenSource();

        var serving = CreateApp().RunAsync(["ui", "--store", StorePath, "--port", "0", "--token", "0123456789abcdef0123"], Console, stop.Token);
        var address = await PrintedAddressAsync(serving);
        using var http = new HttpClient();
        using var without = await http.GetAsync(new Uri(address, "/api/runs"));
        await stop.CancelAsync();
        await serving;

        Assert.Equal("?token=0123456789abcdef0123", address.Query);
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
    }

    [Fact]
    public async Task Ui_ResumeAction_ResumesWithTheProgramsOwnJob()
    {
        var failing = true;
        var app = CreateApp(task => failing && task == new TaskId(1, 0));
        Assert.Equal(ExitCodes.Failure, await app.RunAsync(["run", "--store", StorePath, "--attempts", "1"], Console, CancellationToken.None));
        var runId = Directory.GetDirectories(Path.Combine(StorePath, "_dataflow", "runs")).Select(Path.GetFileName).Single()!;
        failing = false;
        using var stop = new CancellationTokenSource();

        var serving = app.RunAsync(["ui", "--store", StorePath, "--port", "0", "--allow-actions"], Console, stop.Token);
        var address = await PrintedAddressAsync(serving);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, $"api/runs/{runId}/resume"));
        request.Headers.Add("X-Dataflow-Action", "1");
        using var resume = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, resume.StatusCode);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (JsonDocument.Parse(await http.GetStringAsync(new Uri(address, $"api/runs/{runId}"))).RootElement.GetProperty("run").GetProperty("state").GetString() != "succeeded")
        {
            Assert.True(DateTime.UtcNow < deadline, $"the resumed run did not succeed within 60 s: {Error}");
            await Task.Delay(100);
        }

        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Success, await serving);
        await using var store = ObjectStore.OpenFolder(StorePath);
        var inputs = await store.ListAllAsync("input/");
        var expected = (await Task.WhenAll(inputs.Select(i => store.ReadAllBytesAsync(i.Key).AsTask()))).SelectMany(b => b).ToArray();
        Assert.Equal(expected, await store.ReadAllBytesAsync("output/merged.txt"));
        Assert.Contains($"ui: resume run {runId}: resuming run {runId}", Error.ToString());
    }

    [Fact]
    public async Task Ui_ResumeAction_OfAnotherJobsRun_IsRefused_AndThePageSaysSo()
    {
        await using (var store = ObjectStore.OpenFolder(StorePath))
        {
            await Inputs.WriteAsync(store, 4);
            var other = Job.Named("another-job").FromPrefix("input/").ReduceTree(2, new ScriptedOperator(new ConcatOperator(), (task, attempt, ctx, token) =>
                task == new TaskId(1, 0) ? throw new IOException("not now") : ValueTask.CompletedTask)).WriteTo("output/other.txt");
            await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, new JobRunnerOptions { MaxAttempts = 1, Arguments = ["--input", "input/"] }).RunAsync(other));
        }

        var runId = Directory.GetDirectories(Path.Combine(StorePath, "_dataflow", "runs")).Select(Path.GetFileName).Single()!;
        using var stop = new CancellationTokenSource();
        var serving = CreateApp().RunAsync(["ui", "--store", StorePath, "--port", "0", "--allow-actions"], Console, stop.Token);
        var address = await PrintedAddressAsync(serving);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, $"api/runs/{runId}/resume"));
        request.Headers.Add("X-Dataflow-Action", "1");
        Assert.Equal(HttpStatusCode.Accepted, (await http.SendAsync(request)).StatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement run;
        while ((run = JsonDocument.Parse(await http.GetStringAsync(new Uri(address, $"api/runs/{runId}"))).RootElement.GetProperty("run")).GetProperty("lastAction").ValueKind == JsonValueKind.Null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the resume did not end within 60 s: {Error}");
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await serving;
        Assert.Contains("was refused", run.GetProperty("lastAction").GetString());
        Assert.Equal("failed", run.GetProperty("state").GetString());
        Assert.Contains($"run '{runId}' is a run of job 'another-job'", Error.ToString());
    }

    [Fact]
    public async Task DataflowCommands_HasTheUiCommand()
    {
        Directory.CreateDirectory(StorePath);

        Assert.True(DataflowCommands.IsCommand(["ui"]));
        Assert.Equal(ExitCodes.Usage, await DataflowCommands.TryRunAsync(["ui", "--store", StorePath, "--bind", "0.0.0.0"], _ => throw new InvalidOperationException("no job is defined to serve the ui"), "own-program", Console, CancellationToken.None));
        Assert.Contains("own-program: ui: serving on 0.0.0.0", Error.ToString());
    }

    /// <summary>The address the ui command prints on stdout once it serves.</summary>
    private async Task<Uri> PrintedAddressAsync(Task<int> serving)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            if (serving.IsCompleted)
            {
                Assert.Fail($"the ui command ended with {await serving} before serving: {Error}");
            }

            if (Out.ToString().Split('\n').FirstOrDefault(l => l.StartsWith("http://", StringComparison.Ordinal)) is { } line)
            {
                return new Uri(line.Trim());
            }

            await Task.Delay(20, timeout.Token);
        }
    }
}
