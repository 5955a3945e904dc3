using System.Net;
using System.Text.Json;

namespace Dataflow.Hosting.Tests.Ui;

public sealed partial class UiServerTests
{
    [Fact]
    public async Task Run_WhileItRuns_ShowsItsFailedAttemptsAndGrows_ThenItsEnd()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var job = Core.Job.Named("ui-live").FromPrefix("input/").ReduceTree(2, new ScriptedOperator(new CopyConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task == new TaskId(0, 2) && attempt < 3)
            {
                throw new IOException($"flaky read, attempt {attempt}");
            }

            if (task == new TaskId(1, 1))
            {
                await gate.Task.WaitAsync(token);
            }
        })).WriteTo("output/live.txt");
        await StartAsync();
        var running = Task.Run(() => new JobRunner(_store, new JobRunnerOptions { MaxAttempts = 3, RetryDelay = TimeSpan.Zero, ProgressInterval = TimeSpan.FromMilliseconds(50) }).RunAsync(job));

        var runId = await WaitForAsync("the run to show as running", async () =>
            (await GetJsonAsync("api/runs")).GetProperty("runs").EnumerateArray().FirstOrDefault(r => r.GetProperty("state").GetString() == "running") is { ValueKind: JsonValueKind.Object } run
                ? run.GetProperty("runId").GetString() : null);
        var during = await WaitForAsync("both failed attempts, the level-1 commits and the waiting task running", async () =>
        {
            var answer = await GetJsonAsync($"api/runs/{runId}");
            var run = answer.GetProperty("run");
            return answer.GetProperty("failures").GetProperty("total").GetInt32() == 2 && run.GetProperty("tasksCommitted").GetInt32() == 5
                && run.GetProperty("stages")[1].GetProperty("running").ValueKind == JsonValueKind.Number && run.GetProperty("stages")[1].GetProperty("running").GetInt32() == 1
                ? answer : (JsonElement?)null;
        });
        gate.SetResult();
        await running;
        var after = await WaitForAsync("the run to show as succeeded", async () =>
            await GetJsonAsync($"api/runs/{runId}") is var answer && answer.GetProperty("run").GetProperty("state").GetString() == "succeeded" ? answer : (JsonElement?)null);

        Assert.Equal("running", during.GetProperty("run").GetProperty("state").GetString());
        Assert.Equal(RunPhases.Running, during.GetProperty("run").GetProperty("phase").GetString());
        Assert.Equal(JsonValueKind.Null, during.GetProperty("summary").ValueKind);
        var failures = during.GetProperty("failures").GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["flaky read, attempt 2", "flaky read, attempt 1"], failures.Select(f => f.GetProperty("error").GetString()));
        Assert.All(failures, f => Assert.Equal(["input/00004.txt", "input/00005.txt"], f.GetProperty("inputs").EnumerateArray().Select(i => i.GetString())));
        Assert.All(failures, f => Assert.False(f.GetProperty("permanent").GetBoolean()));
        Assert.Equal(7, after.GetProperty("run").GetProperty("tasksCommitted").GetInt32());
        Assert.All(after.GetProperty("run").GetProperty("stages").EnumerateArray(), s => Assert.Equal(JsonValueKind.Null, s.GetProperty("running").ValueKind));
        Assert.False(await _store.ExistsAsync(RunIds.RecordsPrefix(runId!) + "progress.json"), "the driver left its progress record behind");
        Assert.Equal(2, after.GetProperty("failures").GetProperty("total").GetInt32());
        Assert.True(after.GetProperty("version").GetInt64() > during.GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task Cancel_FromThePage_CancelsARunningRunThroughItsLease()
    {
        var job = Core.Job.Named("ui-cancel").FromPrefix("input/").ReduceTree(2, new ScriptedOperator(new CopyConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task == new TaskId(1, 0))
            {
                await Task.Delay(Timeout.Infinite, token);
            }
        })).WriteTo("output/cancelled.txt");
        await StartAsync(new UiOptions { Store = _store, Port = 0, AllowActions = true });
        var running = Task.Run(() => new JobRunner(_store, new JobRunnerOptions { CancelPollInterval = TimeSpan.FromMilliseconds(50) }).RunAsync(job));
        var runId = await WaitForAsync("the run to show as running", async () =>
            (await GetJsonAsync("api/runs")).GetProperty("runs").EnumerateArray().FirstOrDefault(r => r.GetProperty("state").GetString() == "running") is { ValueKind: JsonValueKind.Object } run
                ? run.GetProperty("runId").GetString() : null);

        using var cancel = await PostActionAsync(runId, "cancel");

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => running.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("ui on ", cancelled.Message);
        var state = await WaitForAsync("the run to show as cancelled", async () =>
            await GetJsonAsync($"api/runs/{runId}") is var answer && answer.GetProperty("run").GetProperty("state").GetString() == "cancelled" ? answer : (JsonElement?)null);
        Assert.Contains("from the web UI", state.GetProperty("summary").GetProperty("error").GetString());
        using var again = await PostActionAsync(runId, "cancel");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    /// <summary>Asks until <paramref name="probe"/> gives a value (every 50 ms, at most 60 s: a hang guard, not a timing check).</summary>
    private static async Task<T> WaitForAsync<T>(string what, Func<Task<T?>> probe)
        where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"gave up waiting for {what}");
            await Task.Delay(50);
        }
    }

    private static async Task<T> WaitForAsync<T>(string what, Func<Task<T?>> probe, int _ = 0)
        where T : struct
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"gave up waiting for {what}");
            await Task.Delay(50);
        }
    }
}
