using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Worker.Tests.Workers;

/// <summary>The pooled worker's loop (<c>worker --serve</c>) in this process, its pipe a pair of strings.</summary>
public sealed class TaskWorkerServeTests : IDisposable
{
    private const string RunId = "serve-test";

    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;
    private readonly RunLayout _layout = new(RunId);

    public TaskWorkerServeTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    private static Job MergeJob() => Job.Named("serve-job").FromPrefix("input/").ReduceTree(2, new CopyConcatOperator()).WriteTo("output/merged.txt");

    /// <summary>Stores the plan of a merge of 8 inputs (tasks 4, 2, 1) in chunks of 2 tasks, as a driver would.</summary>
    private async Task<byte[]> StorePlanAsync()
    {
        var expected = await Inputs.WriteAsync(_store, 8, size: 3);
        var inputs = (await _store.ListAllAsync("input/")).Select(i => new PlanInput(i.Key, i.Size) { ETag = i.ETag }).ToList();
        await PlanStore.SaveAsync(_store, JobPlanner.CreatePlan(MergeJob(), inputs, RunId, DateTimeOffset.UtcNow), chunkSize: 2);
        return expected;
    }

    private static string Request(string task, int attempt = 1, string? traceParent = null) =>
        WorkerProtocol.FormatRequest(new TaskRequest(WorkerProtocol.Version, TaskId.Parse(task), attempt) { TraceParent = traceParent });

    private async Task<(bool Served, List<WorkerLine> Lines)> ServeAsync(params string[] requests)
    {
        using var output = new StringWriter();
        var served = await TaskWorker.ServeAsync(_store, RunId, _ => MergeJob(), new StringReader(string.Join('\n', requests)), output, NullLogger.Instance);
        return (served, [.. output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(WorkerProtocol.ParseLine)]);
    }

    [Fact]
    public async Task ServeAsync_TasksOneAfterAnother_GreetsThenCommitsAndReportsEachOnItsLine()
    {
        var expected = await StorePlanAsync();
        string[] tasks = ["0/0", "0/1", "0/2", "0/3", "1/0", "1/1", "2/0"];

        var (served, lines) = await ServeAsync([.. tasks.Select(t => Request(t)), Request("0/2", attempt: 2)]);

        Assert.True(served);
        Assert.Equal(new WorkerHello(WorkerProtocol.Version, Environment.ProcessId), lines[0].Hello);
        var reports = lines.Skip(1).Select(l => l.Report!).ToList();
        Assert.Equal([.. tasks, "0/2"], reports.Select(r => r.Task.ToString()));
        Assert.All(reports.Take(tasks.Length), r => Assert.Equal(WorkerProtocol.Committed, r.Status));

        // A task asked for again after it committed is not run again.
        Assert.Equal(WorkerProtocol.Skipped, reports[^1].Status);
        Assert.Equal(reports[2].AttemptId, reports[^1].AttemptId);

        // Each commit is a record of its own, as a worker of one task writes it; the last holds the whole merge.
        foreach (var (task, report) in tasks.Zip(reports))
        {
            var marker = await CommitIndex.FindAsync(_store, _layout, TaskId.Parse(task), CancellationToken.None);
            Assert.Equal(report.AttemptId, marker?.AttemptId);
            Assert.True(await _store.ExistsAsync(_layout.TaskCommitKey(TaskId.Parse(task), report.AttemptId!)));
        }

        var final = await CommitIndex.FindAsync(_store, _layout, new TaskId(2, 0), CancellationToken.None);
        Assert.Equal(expected, await _store.ReadAllBytesAsync(final!.Outputs.Single().Key!));
        Assert.Equal(expected.Length, reports[6].BytesWritten);
    }

    [Fact]
    public async Task ServeAsync_TaskItCannotRunOrThatFails_ReportsItAndServesTheNext()
    {
        await StorePlanAsync();

        var (served, lines) = await ServeAsync(Request("5/0"), Request("0/7"), Request("1/0"), Request("0/0"));

        Assert.True(served);
        var reports = lines.Skip(1).Select(l => l.Report!).ToList();
        Assert.Equal([WorkerProtocol.Refused, WorkerProtocol.Refused, WorkerProtocol.Failed, WorkerProtocol.Committed], reports.Select(r => r.Status));
        Assert.Contains("has stages 0 to 2, not 5", reports[0].Error, StringComparison.Ordinal);
        Assert.Contains("has tasks 0 to 3; 7 is out of range", reports[1].Error, StringComparison.Ordinal);

        // A reduce task whose inputs have not committed fails, saying which.
        Assert.Contains("0/0", reports[2].Error, StringComparison.Ordinal);
        Assert.Null(await CommitIndex.FindAsync(_store, _layout, new TaskId(1, 0), CancellationToken.None));
    }

    [Theory]
    [InlineData("not json", "line 1 of the task pipe, 'not json', is not a task request")]
    [InlineData("{\"protocol\":2,\"task\":\"0/0\",\"attempt\":1}", "asks for task 0/0 in protocol 2; this worker speaks protocol 1")]
    [InlineData("{\"protocol\":1,\"attempt\":1}", "it names no task")]
    [InlineData("{\"protocol\":1,\"task\":\"0/0\",\"attempt\":0}", "asks for attempt 0 of task 0/0")]
    public async Task ServeAsync_RequestNotOfItsProtocol_ThrowsQuotingTheLine(string line, string expected)
    {
        await StorePlanAsync();

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ServeAsync(line));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeAsync_NoSuchRun_ReturnsFalseWithoutGreeting()
    {
        var (served, lines) = await ServeAsync(Request("0/0"));

        Assert.False(served);
        Assert.Empty(lines);
    }

    [Fact]
    public async Task ServeAsync_RequestWithATraceParent_StartsTheTaskSpanUnderIt()
    {
        await StorePlanAsync();
        var parent = ActivityContext.Parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", null);
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == DataflowTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (spans)
                {
                    spans.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await ServeAsync(Request("0/1", attempt: 3, traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));

        Activity span;
        lock (spans)
        {
            span = Assert.Single(spans, s => s.OperationName == "dataflow.worker" && (string?)s.GetTagItem(DataflowTracing.RunTag) == RunId);
        }

        Assert.Equal(parent.TraceId, span.TraceId);
        Assert.Equal(parent.SpanId, span.ParentSpanId);
        Assert.Equal(3, span.GetTagItem(DataflowTracing.AttemptTag));
        Assert.Equal("1", span.GetTagItem("dataflow.tasks"));
    }
}
