using System.Text.Json;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>The UI API's JSON members for a run's views (camelCase, times in ms of the run or ISO 8601).</summary>
internal static class UiJson
{
    public static void WriteRun(Utf8JsonWriter w, RunView view, string? pendingAction, string? lastAction)
    {
        w.WriteStartObject("run");
        w.WriteString("runId", view.RunId);
        w.WriteString("job", view.Job);
        w.WriteString("state", view.State);
        if (view.CreatedAt is { } created)
        {
            w.WriteString("createdAt", created);
        }

        w.WriteString("dataflowVersion", view.DataflowVersion);
        Number(w, "inputs", view.InputCount);
        w.WriteString("cache", view.Cache);
        w.WriteString("executor", view.Executor);
        w.WriteString("damage", view.Damage);
        w.WriteBoolean("hasReport", view.HasReport);
        w.WriteNumber("elapsedMs", Math.Round(view.ElapsedMs));
        w.WriteNumber("tasks", view.Tasks);
        w.WriteNumber("tasksCommitted", view.TasksCommitted);
        w.WriteNumber("recordsRead", view.RecordsRead);
        w.WriteNumber("recordsPending", view.RecordsPending);
        w.WriteString("pendingAction", pendingAction);
        w.WriteString("lastAction", lastAction);
        w.WriteString("phase", view.Phase);
        Strings(w, "arguments", view.Arguments);
        Strings(w, "outputs", view.Outputs);
        if (view.Lease is { } lease)
        {
            w.WriteStartObject("lease");
            w.WriteString("holder", lease.Holder);
            w.WriteString("expiresAt", lease.ExpiresAt);
            w.WriteBoolean("live", lease.IsLive);
            w.WriteString("workflow", lease.Workflow);
            w.WriteEndObject();
        }

        w.WriteStartArray("stages");
        foreach (var stage in view.Stages)
        {
            w.WriteStartObject();
            w.WriteNumber("index", stage.Index);
            w.WriteString("name", stage.Name);
            w.WriteNumber("tasks", stage.Tasks);
            w.WriteNumber("committed", stage.Committed);
            Number(w, "running", stage.Running);
            w.WriteNumber("cached", stage.Cached);
            w.WriteNumber("failed", stage.Failed);
            w.WriteNumber("setAside", stage.SetAside);
            w.WriteNumber("bytesRead", stage.BytesRead);
            w.WriteNumber("bytesWritten", stage.BytesWritten);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        if (view.Summary is { } summary)
        {
            // The summary as the run stored it (summary.json): the page shows its fields as text.
            w.WritePropertyName("summary");
            w.WriteRawValue(summary.ToJson());
        }
        else
        {
            w.WriteNull("summary");
        }
    }

    public static void WriteTimeline(Utf8JsonWriter w, TimelineView timeline)
    {
        w.WriteStartObject("timeline");
        w.WriteNumber("lengthMs", Math.Round(timeline.LengthMs, 1));
        w.WriteNumber("bucketMs", Math.Round(timeline.BucketMs, 3));
        w.WriteStartArray("rows");
        foreach (var row in timeline.Rows)
        {
            w.WriteStartObject();
            w.WriteString("name", row.Name);
            w.WriteStartArray("busy");
            foreach (var busy in row.Busy)
            {
                w.WriteNumberValue(busy);
            }

            w.WriteEndArray();
            w.WriteStartArray("stage");
            foreach (var stage in row.Stage)
            {
                w.WriteNumberValue(stage);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("commits");
        foreach (var stage in timeline.Commits)
        {
            w.WriteStartArray();
            foreach (var count in stage)
            {
                w.WriteNumberValue(count);
            }

            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteFailures(Utf8JsonWriter w, FailureList failures)
    {
        w.WriteStartObject("failures");
        w.WriteNumber("total", failures.Total);
        w.WriteStartArray("items");
        foreach (var failure in failures.Items)
        {
            w.WriteStartObject();
            w.WriteNumber("stage", failure.Task.Stage);
            w.WriteNumber("task", failure.Task.Index);
            w.WriteNumber("attempt", failure.Attempt);
            w.WriteString("error", failure.Error);
            w.WriteString("worker", failure.Worker);
            if (failure.At is { } at)
            {
                w.WriteString("at", at);
            }

            if (failure.Permanent is { } permanent)
            {
                w.WriteBoolean("permanent", permanent);
            }

            Strings(w, "inputs", failure.Inputs);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteTasks(Utf8JsonWriter w, TaskPage page)
    {
        w.WriteNumber("stage", page.Stage);
        w.WriteString("state", page.State);
        w.WriteNumber("offset", page.Offset);
        w.WriteNumber("matching", page.Matching);
        w.WriteStartArray("items");
        foreach (var task in page.Items)
        {
            w.WriteStartObject();
            WriteTaskView(w, task);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    public static void WriteTask(Utf8JsonWriter w, TaskDetail task)
    {
        w.WriteNumber("stage", task.Task.Stage);
        w.WriteString("stageName", task.StageName);
        w.WriteString("operator", task.Operator);
        WriteTaskView(w, task.View);
        Strings(w, "inputs", task.Inputs);
        Strings(w, "outputNames", task.Outputs);
    }

    private static void WriteTaskView(Utf8JsonWriter w, TaskView task)
    {
        w.WriteNumber("index", task.Index);
        w.WriteString("state", task.State);
        Number(w, "attempt", task.Attempt);
        w.WriteString("worker", task.Worker);
        if (task.StartMs is { } start)
        {
            w.WriteNumber("startMs", Math.Round(start, 1));
        }

        if (task.DurationMs is { } duration)
        {
            w.WriteNumber("durationMs", Math.Round(duration, 1));
        }

        w.WriteNumber("bytesRead", task.BytesRead);
        w.WriteNumber("bytesWritten", task.BytesWritten);
    }

    private static void Number(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }
}
