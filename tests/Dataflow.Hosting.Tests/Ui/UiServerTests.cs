using System.Net;
using System.Text.Json;

namespace Dataflow.Hosting.Tests.Ui;

/// <summary>
/// The ui command's server over HTTP, on runs made by the runtime in a folder store: what the API answers for runs
/// that succeeded, failed (with markup in their error) and were interrupted, a task page, the report and an output;
/// and who may ask — the token, the host check, and actions only when allowed.
/// </summary>
public sealed partial class UiServerTests : IAsyncLifetime, IDisposable
{
    /// <summary>Text a task's error carries: it must reach the page as text.</summary>
    internal const string Markup = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">";

    private readonly TempFolder _folder = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private IObjectStore _store = null!;
    private UiServer? _server;
    private string _succeeded = null!;
    private string _failed = null!;
    private string _interrupted = null!;

    public async Task InitializeAsync()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(_store, 8);
        _succeeded = (await new JobRunner(_store, new JobRunnerOptions()).RunAsync(Job("output/ok.txt", failing: false))).Summary.RunId;
        var failed = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, new JobRunnerOptions { MaxAttempts = 2, RetryDelay = TimeSpan.Zero, Gc = GcMode.Never }).RunAsync(Job("output/failed.txt", failing: true)));
        _failed = failed.RunId;
        var interrupted = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, new JobRunnerOptions { MaxAttempts = 1 }).RunAsync(Job("output/interrupted.txt", failing: true)));
        _interrupted = interrupted.RunId;

        // A driver killed before it wrote its summary leaves a plan and commits without one.
        await _store.DeleteAsync([RunIds.RecordsPrefix(_interrupted) + "summary.json", RunIds.RecordsPrefix(_interrupted) + "report.json"]);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await _store.DisposeAsync();
    }

    public void Dispose()
    {
        _http.Dispose();
        _folder.Dispose();
    }

    /// <summary>The seed cascade over the 8 inputs; with <paramref name="failing"/>, task 1 of level 1 always fails with <see cref="Markup"/>.</summary>
    internal static Job Job(string output, bool failing) =>
        Core.Job.Named("ui-merge").FromPrefix("input/").ReduceTree(2, new ScriptedOperator(new CopyConcatOperator(), (task, attempt, context, token) =>
            failing && task == new TaskId(0, 1) ? throw new IOException($"bad input {Markup}") : ValueTask.CompletedTask)).WriteTo(output);

    private async Task<Uri> StartAsync(UiOptions? options = null)
    {
        _server = await UiServer.StartAsync(options ?? new UiOptions { Store = _store, Port = 0 }, CancellationToken.None);
        return _server.Address;
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(_server!.Address, path));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Runs_ListsEveryRunWithItsState_NewestFirst()
    {
        await StartAsync();

        var runs = (await GetJsonAsync("api/runs")).GetProperty("runs").EnumerateArray().ToList();

        var states = runs.ToDictionary(r => r.GetProperty("runId").GetString()!, r => r.GetProperty("state").GetString());
        Assert.Equal("succeeded", states[_succeeded]);
        Assert.Equal("failed", states[_failed]);
        Assert.Equal("interrupted", states[_interrupted]);
        Assert.Equal([_interrupted, _failed, _succeeded], runs.Select(r => r.GetProperty("runId").GetString()));
        var ok = runs.Single(r => r.GetProperty("runId").GetString() == _succeeded);
        Assert.Equal(7, ok.GetProperty("tasks").GetInt32());
        Assert.Equal(7, ok.GetProperty("tasksCommitted").GetInt32());
        Assert.EndsWith("output/ok.txt", ok.GetProperty("output").GetString());
        Assert.Contains(Markup, runs.Single(r => r.GetProperty("runId").GetString() == _failed).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Run_Succeeded_HasItsStagesTimelineSummaryAndOutputs()
    {
        await StartAsync();

        var answer = await GetJsonAsync($"api/runs/{_succeeded}?buckets=40");

        var run = answer.GetProperty("run");
        Assert.Equal("succeeded", run.GetProperty("state").GetString());
        Assert.Equal([4, 2, 1], run.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("committed").GetInt32()));
        Assert.Equal(["output/ok.txt"], run.GetProperty("outputs").EnumerateArray().Select(o => o.GetString()));
        Assert.True(run.GetProperty("hasReport").GetBoolean());
        Assert.Equal("succeeded", answer.GetProperty("summary").GetProperty("status").GetString());
        var timeline = answer.GetProperty("timeline");
        Assert.Equal(RunWatcher.DriverRow, timeline.GetProperty("rows")[0].GetProperty("name").GetString());
        Assert.Equal(40, timeline.GetProperty("rows")[0].GetProperty("busy").GetArrayLength());
        Assert.Equal([4, 2, 1], timeline.GetProperty("commits").EnumerateArray().Select(stage => stage.EnumerateArray().Sum(c => c.GetInt32())));
        Assert.Equal(0, answer.GetProperty("failures").GetProperty("total").GetInt32());

        // Asked again with the version it saw, an ended run that did not change answers in a few bytes.
        var again = await GetJsonAsync($"api/runs/{_succeeded}?since={answer.GetProperty("version").GetInt64()}");
        Assert.True(again.GetProperty("unchanged").GetBoolean());
    }

    [Fact]
    public async Task Run_Failed_ShowsTheFailingTasksErrorAndInputKeys()
    {
        await StartAsync();

        var answer = await GetJsonAsync($"api/runs/{_failed}");

        Assert.Equal("failed", answer.GetProperty("run").GetProperty("state").GetString());
        var failures = answer.GetProperty("failures");
        Assert.Equal(2, failures.GetProperty("total").GetInt32());
        var newest = failures.GetProperty("items")[0];
        Assert.Equal((0, 1), (newest.GetProperty("stage").GetInt32(), newest.GetProperty("task").GetInt32()));
        Assert.Equal(2, newest.GetProperty("attempt").GetInt32());
        Assert.Contains($"bad input {Markup}", newest.GetProperty("error").GetString());
        Assert.Equal(["input/00002.txt", "input/00003.txt"], newest.GetProperty("inputs").EnumerateArray().Select(i => i.GetString()));
        Assert.Equal(1, answer.GetProperty("run").GetProperty("stages")[0].GetProperty("failed").GetInt32());
        Assert.Contains(Markup, answer.GetProperty("summary").GetProperty("error").GetString());

        var failedTasks = await GetJsonAsync($"api/runs/{_failed}/tasks?stage=0&state=failed");
        Assert.Equal([1], failedTasks.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("index").GetInt32()));
    }

    [Fact]
    public async Task Tasks_ArePagedAndFiltered_AndATaskShowsItsInputs()
    {
        await StartAsync();

        var page = await GetJsonAsync($"api/runs/{_succeeded}/tasks?stage=0&offset=1&limit=2");
        Assert.Equal(4, page.GetProperty("matching").GetInt32());
        Assert.Equal([1, 2], page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("index").GetInt32()));
        Assert.All(page.GetProperty("items").EnumerateArray(), t => Assert.Equal("committed", t.GetProperty("state").GetString()));

        var task = await GetJsonAsync($"api/runs/{_succeeded}/tasks/1/0");
        Assert.Equal("level-2", task.GetProperty("stageName").GetString());
        Assert.Equal(["output 'out' of task 0/0", "output 'out' of task 0/1"], task.GetProperty("inputs").EnumerateArray().Select(i => i.GetString()));

        using var missing = await _http.GetAsync(new Uri(_server!.Address, $"api/runs/{_succeeded}/tasks?stage=7"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("has stages 0 to 2", await missing.Content.ReadAsStringAsync());
        using var badState = await _http.GetAsync(new Uri(_server.Address, $"api/runs/{_succeeded}/tasks?state=<b>"));
        Assert.Equal(HttpStatusCode.BadRequest, badState.StatusCode);
        using var noRun = await _http.GetAsync(new Uri(_server.Address, "api/runs/no-such-run"));
        Assert.Equal(HttpStatusCode.NotFound, noRun.StatusCode);
    }

    [Fact]
    public async Task ReportAndOutput_AreServedFromTheStore_TheReportSandboxed()
    {
        await StartAsync();

        using var report = await _http.GetAsync(new Uri(_server!.Address, $"runs/{_succeeded}/report.html"));
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.StartsWith("sandbox allow-scripts;", report.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal(await _store.ReadAllBytesAsync(RunIds.RecordsPrefix(_succeeded) + "report.html"), await report.Content.ReadAsByteArrayAsync());

        using var output = await _http.GetAsync(new Uri(_server.Address, $"runs/{_succeeded}/outputs/0"));
        Assert.Equal(HttpStatusCode.OK, output.StatusCode);
        Assert.Equal("attachment", output.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(await _store.ReadAllBytesAsync("output/ok.txt"), await output.Content.ReadAsByteArrayAsync());

        using var notPublished = await _http.GetAsync(new Uri(_server.Address, $"runs/{_failed}/outputs/0"));
        Assert.Equal(HttpStatusCode.NotFound, notPublished.StatusCode);
        Assert.Contains("output/failed.txt", await notPublished.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Pages_AreEmbedded_WithAStrictContentSecurityPolicy()
    {
        await StartAsync();

        foreach (var path in new[] { "", "assets/app.js", "assets/run.js", "assets/style.css" })
        {
            using var response = await _http.GetAsync(new Uri(_server!.Address, path));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var policy = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("script-src 'self'", policy);
            Assert.DoesNotContain("unsafe-inline", policy);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }

        var page = await _http.GetStringAsync(_server!.Address);
        Assert.DoesNotContain("http://", page.Replace("http://www.w3.org", string.Empty, StringComparison.Ordinal));
        Assert.DoesNotContain("https://", page);
    }
}
