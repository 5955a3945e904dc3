using System.Diagnostics;
using System.Text.Json;

namespace Dataflow.Hosting.Tests.Ui;

/// <summary>
/// The run page on a run of about a million tasks, synthesized once for the class through the runtime's record
/// writers (<see cref="SyntheticRun"/>): the fixture asks a fresh server what the page asks, polling the run until
/// all its commit records are read; the tests check every answer stayed small and right. Speed is measured by the
/// benchmark (<c>--only ui-million</c>), not here.
/// </summary>
public sealed class MillionTaskRunTests(MillionTaskRunTests.Run run) : IClassFixture<MillionTaskRunTests.Run>
{
    /// <summary>The largest answer the page may get.</summary>
    private const int MaxResponse = 1 << 20;

    [Fact]
    public void Responses_OfAMillionTaskRun_AreUnderOneMebibyteEach()
    {
        Assert.NotEmpty(run.Sizes);
        var (path, largest) = run.Sizes.MaxBy(s => s.Bytes);
        Assert.True(largest < MaxResponse, $"GET {path} answered {largest:N0} bytes");
        Assert.All(run.Sizes, s => Assert.True(s.Bytes < MaxResponse, $"GET {s.Path} answered {s.Bytes:N0} bytes"));
    }

    [Fact]
    public void Store_AndRunList_ShowTheRunSucceededWithAllItsTasks()
    {
        Assert.Equal(run.Store.Location, run.StoreAnswer.GetProperty("location").GetString());
        var runs = run.RunsAnswer.GetProperty("runs");
        var listed = Assert.Single(runs.EnumerateArray());
        Assert.Equal(run.RunId, listed.GetProperty("runId").GetString());
        Assert.Equal("succeeded", listed.GetProperty("state").GetString());
        Assert.Equal(run.TaskCount, listed.GetProperty("tasks").GetInt32());
        Assert.Equal(run.TaskCount, listed.GetProperty("tasksCommitted").GetInt32());
    }

    [Fact]
    public void FirstRunAnswer_WhileRecordsArePending_HasTheReportsStageTotals()
    {
        var first = run.FirstRunAnswer.GetProperty("run");

        // A refresh reads records for 300 ms on the server's clock, which here passes that within two slices of them
        // (whatever this machine's speed): the first answer comes before they are all read, and shows the whole run
        // from its report.
        Assert.True(first.GetProperty("recordsPending").GetInt32() > 0, "the first answer had read every record already");
        Assert.True(first.GetProperty("hasReport").GetBoolean());
        Assert.Equal("succeeded", first.GetProperty("state").GetString());
        Assert.Equal(run.TaskCount, first.GetProperty("tasks").GetInt32());
        Assert.Equal(run.TaskCount, first.GetProperty("tasksCommitted").GetInt32());
        AssertStages(first);
    }

    [Fact]
    public void RunAnswers_PolledUntilEveryRecordIsRead_ShowTheWholeRun()
    {
        Assert.True(run.Polls > 1, "one answer read a million tasks' records");
        var last = run.LastRunAnswer.GetProperty("run");
        Assert.Equal(0, last.GetProperty("recordsPending").GetInt32());
        Assert.Equal(run.Records, last.GetProperty("recordsRead").GetInt32());
        Assert.Equal("succeeded", last.GetProperty("state").GetString());
        Assert.Equal(run.TaskCount, last.GetProperty("tasks").GetInt32());
        Assert.Equal(run.TaskCount, last.GetProperty("tasksCommitted").GetInt32());
        AssertStages(last);

        var timeline = run.LastRunAnswer.GetProperty("timeline");
        var rows = timeline.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(0, SyntheticWorkers).Select(w => $"worker-{w}").Order(StringComparer.Ordinal), rows.Select(r => r.GetProperty("name").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.Equal(Buckets, r.GetProperty("busy").GetArrayLength()));
        Assert.All(rows, r => Assert.Equal(Buckets, r.GetProperty("stage").GetArrayLength()));
        var commits = timeline.GetProperty("commits").EnumerateArray().ToList();
        Assert.Equal(run.StageTasks.Count, commits.Count);
        Assert.All(commits, c => Assert.Equal(Buckets, c.GetArrayLength()));

        // Every task committed once, in some bucket of its stage's row.
        Assert.Equal(run.StageTasks, commits.Select(c => c.EnumerateArray().Sum(n => n.GetInt32())));
        Assert.Equal(0, run.LastRunAnswer.GetProperty("failures").GetProperty("total").GetInt32());
    }

    [Fact]
    public void TaskPages_AtTheEndOfTheLargestStage_HoldThoseTasks()
    {
        var stage0 = run.StageTasks[0];
        var page = run.LastTaskPage;
        Assert.Equal(stage0, page.GetProperty("matching").GetInt32());
        Assert.Equal(run.LastPageOffset, page.GetProperty("offset").GetInt32());
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(stage0 - run.LastPageOffset, items.Count);
        Assert.Equal(Enumerable.Range(run.LastPageOffset, items.Count), items.Select(i => i.GetProperty("index").GetInt32()));
        Assert.All(items, i => Assert.Equal("committed", i.GetProperty("state").GetString()));
        Assert.All(items, i => Assert.Equal(1, i.GetProperty("attempt").GetInt32()));
        Assert.All(items, i => Assert.Equal($"worker-{i.GetProperty("index").GetInt32() % SyntheticWorkers}", i.GetProperty("worker").GetString()));
        Assert.All(items, i => Assert.Equal(100, i.GetProperty("bytesRead").GetInt64()));

        var committed = run.CommittedPage;
        Assert.Equal("committed", committed.GetProperty("state").GetString());
        Assert.Equal(stage0, committed.GetProperty("matching").GetInt32());
        Assert.Equal(1000, committed.GetProperty("items").GetArrayLength());
        Assert.Equal(Enumerable.Range(Run.CommittedOffset, 1000), committed.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("index").GetInt32()));

        var pending = run.PendingPage;
        Assert.Equal(0, pending.GetProperty("matching").GetInt32());
        Assert.Equal(0, pending.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public void Task_OfTheLastStage_HasItsInputsAndAttempt()
    {
        var task = run.TaskAnswer;
        var last = run.StageTasks.Count - 1;
        Assert.Equal(last, task.GetProperty("stage").GetInt32());
        Assert.Equal(0, task.GetProperty("index").GetInt32());
        Assert.Equal(run.StageNames[last], task.GetProperty("stageName").GetString());
        Assert.Equal("committed", task.GetProperty("state").GetString());
        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
        Assert.Equal(2, task.GetProperty("inputs").GetArrayLength());
        Assert.Equal(100L << last, task.GetProperty("bytesWritten").GetInt64());
    }

    private const int Buckets = 300;

    private const int SyntheticWorkers = 8;

    private void AssertStages(JsonElement view)
    {
        var stages = view.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(run.StageTasks.Count, stages.Count);
        for (var s = 0; s < stages.Count; s++)
        {
            var tasks = run.StageTasks[s];
            Assert.Equal(run.StageNames[s], stages[s].GetProperty("name").GetString());
            Assert.Equal(tasks, stages[s].GetProperty("tasks").GetInt32());
            Assert.Equal(tasks, stages[s].GetProperty("committed").GetInt32());
            Assert.Equal(0, stages[s].GetProperty("failed").GetInt32());
            Assert.Equal(tasks * (100L << s), stages[s].GetProperty("bytesWritten").GetInt64());
        }
    }

    /// <summary>
    /// The system's clock, except that each look at the stopwatch finds it 100 ms further on: a refresh's time budget
    /// is spent within two slices of records, so the first answer never has them all, on any machine.
    /// </summary>
    private sealed class SteppingTime : TimeProvider
    {
        private long _offset;

        public override long GetTimestamp() => base.GetTimestamp() + Interlocked.Add(ref _offset, TimestampFrequency / 10);
    }

    /// <summary>The run, written once for the class, and what a fresh server answered the page about it.</summary>
    public sealed class Run : IAsyncLifetime, IDisposable
    {
        /// <summary>Inputs of the pairwise merge tree: a million tasks.</summary>
        public const int Inputs = 1_000_001;

        /// <summary>Where the page of committed tasks starts.</summary>
        public const int CommittedOffset = 250_000;

        private static readonly TimeSpan s_hangGuard = TimeSpan.FromMinutes(5);

        private readonly TempFolder _folder = new();

        public IObjectStore Store { get; private set; } = null!;

        public string RunId { get; } = RunIds.New();

        public int TaskCount { get; private set; }

        public int Records { get; private set; }

        public IReadOnlyList<int> StageTasks { get; private set; } = [];

        public IReadOnlyList<string> StageNames { get; private set; } = [];

        public List<(string Path, long Bytes)> Sizes { get; } = [];

        public JsonElement StoreAnswer { get; private set; }

        public JsonElement RunsAnswer { get; private set; }

        public JsonElement FirstRunAnswer { get; private set; }

        public JsonElement LastRunAnswer { get; private set; }

        public int Polls { get; private set; }

        public int LastPageOffset { get; private set; }

        public JsonElement LastTaskPage { get; private set; }

        public JsonElement CommittedPage { get; private set; }

        public JsonElement PendingPage { get; private set; }

        public JsonElement TaskAnswer { get; private set; }

        public async Task InitializeAsync()
        {
            using var timeout = new CancellationTokenSource(s_hangGuard);
            var token = timeout.Token;
            var watch = Stopwatch.StartNew();
            Store = ObjectStore.OpenFolder(_folder.Path);
            TaskCount = await SyntheticRun.WriteAsync(Store, RunId, Inputs, workers: SyntheticWorkers);
            var plan = await PlanStore.LoadIndexAsync(Store, RunId, token) ?? throw new InvalidOperationException("no plan");
            StageTasks = [.. plan.Stages.Select(s => s.Tasks)];
            StageNames = [.. plan.Stages.Select(s => s.Name)];
            Records = await Store.ListAsync(new RunLayout(RunId).CommitsPrefix, token).CountAsync(token);
            Console.WriteLine($"wrote {TaskCount:N0} tasks in {Records} commit records: {watch.Elapsed.TotalSeconds:F1} s");

            watch.Restart();
            await using var server = await UiServer.StartAsync(new UiOptions { Store = Store, Port = 0, Time = new SteppingTime() }, token);
            using var http = new HttpClient { BaseAddress = server.Address, Timeout = s_hangGuard };
            StoreAnswer = await GetAsync(http, "api/store", token);
            RunsAnswer = await GetAsync(http, "api/runs", token);

            // As the run page polls: the run, then the run since the version it saw, until every record is read.
            FirstRunAnswer = LastRunAnswer = await GetAsync(http, $"api/runs/{RunId}?buckets={Buckets}", token);
            Polls = 1;
            while (LastRunAnswer.GetProperty("run").GetProperty("recordsPending").GetInt32() > 0)
            {
                LastRunAnswer = await GetAsync(http, $"api/runs/{RunId}?buckets={Buckets}&since={LastRunAnswer.GetProperty("version").GetInt64()}", token);
                Polls++;
            }

            Console.WriteLine($"read {Records} commit records in {Polls} answers: {watch.Elapsed.TotalSeconds:F1} s");

            // Paging to the end of the largest stage, as the tasks table does; the last page is a part of one.
            var stage0 = StageTasks[0];
            foreach (var offset in new[] { 0, 100, stage0 - 150, stage0 - 50 })
            {
                LastPageOffset = offset;
                LastTaskPage = await GetAsync(http, $"api/runs/{RunId}/tasks?stage=0&offset={offset}&limit=100", token);
            }

            CommittedPage = await GetAsync(http, $"api/runs/{RunId}/tasks?stage=0&state=committed&offset={CommittedOffset}&limit=1000", token);
            PendingPage = await GetAsync(http, $"api/runs/{RunId}/tasks?stage=0&state=pending", token);
            TaskAnswer = await GetAsync(http, $"api/runs/{RunId}/tasks/{StageTasks.Count - 1}/0", token);
            Console.WriteLine($"largest answer: {Sizes.MaxBy(s => s.Bytes)}");
        }

        public async Task DisposeAsync()
        {
            await Store.DisposeAsync();
        }

        public void Dispose() => _folder.Dispose();

        private async Task<JsonElement> GetAsync(HttpClient http, string path, CancellationToken cancellationToken)
        {
            using var response = await http.GetAsync(path, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
            Sizes.Add((path, body.Length));
            using var json = JsonDocument.Parse(body);
            return json.RootElement.Clone();
        }
    }
}
