using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Dataflow.Worker.Tests.Diagnostics;

public sealed class DataflowMetricsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Run_WithRetries_MetricsAgreeWithTheRunSummary()
    {
        // A job name of its own: other tests run jobs in this process at the same time.
        var job = $"metrics-{Guid.NewGuid():N}";
        var totals = new ConcurrentDictionary<string, double>();
        var durations = new ConcurrentDictionary<string, int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DataflowMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? run = null;
            string? stage = null;
            foreach (var tag in tags)
            {
                if (tag.Key == DataflowMetrics.JobTag)
                {
                    run = tag.Value as string;
                }
                else if (tag.Key == DataflowMetrics.StageTag)
                {
                    stage = tag.Value as string;
                }
            }

            if (run != job)
            {
                return;
            }

            if (instrument.Name == "dataflow.task.duration")
            {
                Assert.True(value >= 0);
                durations.AddOrUpdate(stage!, 1, (_, n) => n + 1);
            }
            else
            {
                totals.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
            }
        }

        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();

        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 40, size: 100);
        var op = new ScriptedOperator(new CopyConcatOperator(), (id, attempt, _, _) =>
            id.Index % 7 == 0 && attempt == 1
                ? throw new IOException($"first attempt of {id} fails")
                : ValueTask.CompletedTask);
        var definition = Job.Named(job).FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");

        var summary = (await new JobRunner(store, new JobRunnerOptions { Concurrency = 4, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(definition)).Summary;

        Assert.True(summary.Retries > 0);
        Assert.Equal(summary.Attempts, totals.GetValueOrDefault("dataflow.tasks.started"));
        Assert.Equal(summary.Retries, totals.GetValueOrDefault("dataflow.tasks.retried"));
        Assert.Equal(summary.TasksRun, totals.GetValueOrDefault("dataflow.tasks.committed"));
        Assert.Equal(0, totals.GetValueOrDefault("dataflow.tasks.failed"));
        Assert.Equal(summary.BytesRead, totals.GetValueOrDefault("dataflow.bytes.read"));
        Assert.Equal(summary.BytesWritten, totals.GetValueOrDefault("dataflow.bytes.written"));
        Assert.True(totals.GetValueOrDefault("dataflow.gc.objects_deleted") > 0, "garbage collection deleted nothing");
        Assert.Equal(summary.TasksRun, durations.Values.Sum());
        Assert.Equal(summary.Stages, durations.Count);
    }
}
