using System.Collections.Concurrent;
using System.Diagnostics;

namespace Dataflow.Worker.Tests.Diagnostics;

public sealed class DataflowTracingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Run_Traced_SpansNestRunStageTaskAndStorageCalls()
    {
        // A job name of its own: other tests run jobs in this process at the same time, and their spans reach this listener too.
        var name = $"traced-{Guid.NewGuid():N}";
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is DataflowTracing.SourceName or ObjectStoreTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 8, size: 10);
        var op = new ScriptedOperator(new CopyConcatOperator(), (id, attempt, _, _) =>
            id is { Stage: 1, Index: 0 } && attempt == 1 ? throw new IOException("first attempt fails") : ValueTask.CompletedTask);
        var job = Job.Named(name).FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");

        var summary = (await new JobRunner(store, new JobRunnerOptions { Concurrency = 2, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(job)).Summary;

        var run = Assert.Single(spans, s => s.OperationName == "dataflow.run" && (string?)s.GetTagItem(DataflowMetrics.JobTag) == name);
        Assert.Equal(summary.RunId, run.GetTagItem(DataflowTracing.RunTag));
        Assert.Equal("succeeded", run.GetTagItem("dataflow.status"));
        var trace = spans.Where(s => s.TraceId == run.TraceId).ToList();

        // One span per stage, under the run; one per attempt, under its stage; the failed attempt is marked.
        var stages = trace.Where(s => s.OperationName == "dataflow.stage").ToList();
        Assert.Equal(summary.Stages, stages.Count);
        Assert.All(stages, s => Assert.Equal(run.SpanId, s.ParentSpanId));
        var tasks = trace.Where(s => s.OperationName == "dataflow.task").ToList();
        Assert.Equal(summary.Attempts, tasks.Count);
        foreach (var task in tasks)
        {
            var stage = Assert.Single(stages, s => s.SpanId == task.ParentSpanId);
            Assert.Equal(stage.GetTagItem(DataflowMetrics.StageTag), task.GetTagItem(DataflowMetrics.StageTag));
            Assert.True(task.StartTimeUtc >= stage.StartTimeUtc && task.StartTimeUtc + task.Duration <= stage.StartTimeUtc + stage.Duration);
        }

        var failed = Assert.Single(tasks, t => t.Status == ActivityStatusCode.Error);
        Assert.Equal(0, failed.GetTagItem(DataflowTracing.TaskTag));
        Assert.Equal(1, failed.GetTagItem(DataflowTracing.AttemptTag));
        Assert.Equal("first attempt fails", failed.StatusDescription);

        // Every task read its inputs through the store, inside its own span; the driver's own calls (its lease, the
        // commit records) hang off the run.
        var taskIds = tasks.Select(t => t.SpanId).ToHashSet();
        var reads = trace.Where(s => s.OperationName == "store.open_read").ToList();
        Assert.All(tasks.Where(t => t.Status != ActivityStatusCode.Error), t => Assert.Contains(reads, r => r.ParentSpanId == t.SpanId));
        Assert.All(reads, r => Assert.True(taskIds.Contains(r.ParentSpanId) || r.ParentSpanId == run.SpanId, $"read of {r.GetTagItem(ObjectStoreTracing.KeyTag)} is outside the run's spans"));
        Assert.Contains(trace, s => s.OperationName == "store.list" && s.ParentSpanId == run.SpanId && (string?)s.GetTagItem(ObjectStoreTracing.KeyTag) == "input/");
        Assert.Contains(trace, s => s.OperationName == "store.move" && s.ParentSpanId == run.SpanId && (string?)s.GetTagItem(ObjectStoreTracing.KeyTag) == "output/merged.txt");
    }
}
