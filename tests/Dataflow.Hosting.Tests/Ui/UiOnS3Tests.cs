using System.Text.Json;

namespace Dataflow.Hosting.Tests.Ui;

/// <summary>
/// The UI on the real S3 test server shows a run made there: a job run with the local executor on an S3 store, then
/// a <c>ui</c> server on that store asked what the pages ask — the run list, the run with its stages, timeline and
/// failures, its report and its output.
/// </summary>
public sealed class UiOnS3Tests : IAsyncLifetime
{
    private const int InputCount = 40;

    private readonly string _bucket = S3TestServer.NewBucket("ui");
    private IObjectStore _store = null!;

    public async Task InitializeAsync() => _store = await S3TestServer.OpenAsync(_bucket);

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_store);
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task Ui_RunMadeOnS3_ListsItAndServesItsStagesTimelineReportAndOutput()
    {
        var inputs = await Inputs.WriteAsync(_store, InputCount, size: 100);

        // A copying merge, so that the tasks read bytes (a composing one reads nothing on S3).
        var job = Job.Named("ui-s3").FromPrefix("input/").ReduceTree(4, new CopyConcatOperator()).WriteTo("output/merged.txt");
        var result = await new JobRunner(_store, new JobRunnerOptions { Concurrency = 4 }).RunAsync(job);
        Assert.Equal("succeeded", result.Summary.Status);
        var runId = result.Summary.RunId;

        await using var server = await UiServer.StartAsync(new UiOptions { Store = _store, Port = 0 }, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };

        var runs = await JsonAsync(http, "api/runs");
        var listed = Assert.Single(runs.GetProperty("runs").EnumerateArray());
        Assert.Equal(runId, listed.GetProperty("runId").GetString());
        Assert.Equal("ui-s3", listed.GetProperty("job").GetString());
        Assert.Equal("succeeded", listed.GetProperty("state").GetString());
        Assert.Equal(result.Plan.TaskCount, listed.GetProperty("tasks").GetInt32());
        Assert.Equal(result.Plan.TaskCount, listed.GetProperty("tasksCommitted").GetInt32());

        var answer = await RunAsync(http, runId);
        var run = answer.GetProperty("run");
        Assert.Equal("succeeded", run.GetProperty("state").GetString());
        Assert.True(run.GetProperty("hasReport").GetBoolean());
        Assert.Equal(result.Plan.TaskCount, run.GetProperty("tasksCommitted").GetInt32());
        var stages = run.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(result.Plan.Stages.Select(s => s.Name), stages.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(result.Plan.Stages.Select(s => s.Tasks.Count), stages.Select(s => s.GetProperty("tasks").GetInt32()));
        Assert.Equal(result.Plan.Stages.Select(s => s.Tasks.Count), stages.Select(s => s.GetProperty("committed").GetInt32()));
        Assert.Equal(InputCount * 100L, stages[0].GetProperty("bytesRead").GetInt64());

        // The local executor's attempts ran in the driver's process: one timeline row, every task committed in some bucket.
        var timeline = answer.GetProperty("timeline");
        var row = Assert.Single(timeline.GetProperty("rows").EnumerateArray());
        Assert.Equal(RunWatcher.DriverRow, row.GetProperty("name").GetString());
        Assert.Equal(60, row.GetProperty("busy").GetArrayLength());
        Assert.True(row.GetProperty("busy").EnumerateArray().Sum(b => b.GetDouble()) > 0, "the timeline shows no work");
        Assert.Equal(result.Plan.Stages.Select(s => s.Tasks.Count), timeline.GetProperty("commits").EnumerateArray().Select(c => c.EnumerateArray().Sum(n => n.GetInt32())));
        Assert.Equal(0, answer.GetProperty("failures").GetProperty("total").GetInt32());

        var layout = new RunLayout(runId);
        using (var report = await http.GetAsync($"runs/{runId}/report.html"))
        {
            Assert.True(report.IsSuccessStatusCode, $"report.html: {(int)report.StatusCode}");
            Assert.StartsWith("text/html", report.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
            Assert.Equal(await _store.ReadAllBytesAsync(layout.ReportHtmlKey), await report.Content.ReadAsByteArrayAsync());
        }

        using (var output = await http.GetAsync($"runs/{runId}/outputs/0"))
        {
            Assert.True(output.IsSuccessStatusCode, $"outputs/0: {(int)output.StatusCode}");
            var bytes = await output.Content.ReadAsByteArrayAsync();
            Assert.Equal(await _store.ReadAllBytesAsync("output/merged.txt"), bytes);
            Assert.Equal(inputs, bytes);
        }
    }

    [Fact]
    public async Task Ui_RunFailedOnS3_ShowsTheFailingTasksErrorAndInputs()
    {
        await Inputs.WriteAsync(_store, 12, size: 10);
        var op = new ScriptedOperator(new CopyConcatOperator(), (id, _, _, _) =>
            id is { Stage: 0, Index: 3 } ? throw new IOException("task 0/3 fails on purpose") : ValueTask.CompletedTask);
        var job = Job.Named("ui-s3-fails").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");
        var failed = await Assert.ThrowsAsync<JobFailedException>(() =>
            new JobRunner(_store, new JobRunnerOptions { Concurrency = 2, MaxAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(job));

        await using var server = await UiServer.StartAsync(new UiOptions { Store = _store, Port = 0 }, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };

        var listed = Assert.Single((await JsonAsync(http, "api/runs")).GetProperty("runs").EnumerateArray());
        Assert.Equal(failed.RunId, listed.GetProperty("runId").GetString());
        Assert.Equal("failed", listed.GetProperty("state").GetString());

        var answer = await RunAsync(http, failed.RunId);
        Assert.Equal("failed", answer.GetProperty("run").GetProperty("state").GetString());
        Assert.Equal(1, answer.GetProperty("run").GetProperty("stages")[0].GetProperty("failed").GetInt32());
        var failures = answer.GetProperty("failures");
        Assert.Equal(2, failures.GetProperty("total").GetInt32());
        var items = failures.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([1, 2], items.Select(f => f.GetProperty("attempt").GetInt32()).Order());
        Assert.All(items, f =>
        {
            Assert.Equal(0, f.GetProperty("stage").GetInt32());
            Assert.Equal(3, f.GetProperty("task").GetInt32());
            Assert.Contains("task 0/3 fails on purpose", f.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(["input/00006.txt", "input/00007.txt"], f.GetProperty("inputs").EnumerateArray().Select(i => i.GetString()));
        });

        using var output = await http.GetAsync($"runs/{failed.RunId}/outputs/0");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, output.StatusCode);
    }

    /// <summary>The run as the run page polls it, once every commit record is read.</summary>
    private static async Task<JsonElement> RunAsync(HttpClient http, string runId)
    {
        while (true)
        {
            var answer = await JsonAsync(http, $"api/runs/{runId}?buckets=60");
            if (answer.GetProperty("run").GetProperty("recordsPending").GetInt32() == 0)
            {
                return answer;
            }
        }
    }

    private static async Task<JsonElement> JsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.Clone();
    }
}
