using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dataflow.Core;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// The worker's side of the process executor and of pods (the <c>worker</c> command): reads the part of a stored plan
/// that holds the tasks it is given, and runs those tasks, each once, committing each with a commit record of its own.
/// A task found committed already is not run again.
/// </summary>
public static class TaskWorker
{
    /// <summary>What a worker reports on stdout for each task: one JSON line the driver reads back.</summary>
    internal const string ReportPrefix = "dataflow-task ";

    /// <summary>
    /// Reads what a worker needs of run <paramref name="runId"/> to run tasks <paramref name="first"/> to
    /// <paramref name="last"/> of stage <paramref name="stage"/>: the plan's index and the chunks those tasks are in.
    /// </summary>
    /// <param name="store">The run's store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="stage">The stage.</param>
    /// <param name="first">The first task.</param>
    /// <param name="last">The last task.</param>
    /// <param name="lastMayPassTheEnd">True for a shard of a fixed size: the last shard of a stage may be short, so a
    /// <paramref name="last"/> past the stage's end is cut (a <paramref name="first"/> past it is still an error).</param>
    /// <param name="cancellationToken">Stops the reads.</param>
    /// <returns>The plan with those tasks loaded, and the tasks; <see langword="null"/> when the store has no such run.</returns>
    /// <exception cref="ArgumentException">The plan was made by another Dataflow build (a stale image?), or the run has no such stage or tasks; the message says which.</exception>
    /// <exception cref="InvalidDataException">The stored plan is damaged.</exception>
    public static async Task<WorkerTasks?> LoadTasksAsync(IObjectStore store, string runId, int stage, int first, int last, bool lastMayPassTheEnd = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var index = await PlanStore.LoadIndexAsync(store, runId, cancellationToken).ConfigureAwait(false);
        if (index is null)
        {
            return null;
        }

        if (!string.Equals(index.DataflowVersion, DataflowInfo.Version, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the plan of run '{runId}' was made by Dataflow {index.DataflowVersion}; this worker is Dataflow {DataflowInfo.Version}: run workers of the same build as the driver (a stale image?)");
        }

        if (stage < 0 || stage >= index.Stages.Count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"run '{runId}' has stages 0 to {index.Stages.Count - 1}, not {stage}"));
        }

        var count = index.Stages[stage].Tasks;
        if (lastMayPassTheEnd && first < count)
        {
            last = Math.Min(last, count - 1);
        }

        if (first < 0 || last < first || first >= count || last >= count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"stage {stage} '{index.Stages[stage].Name}' of run '{runId}' has tasks 0 to {count - 1}; {(first == last ? $"{first}" : $"{first}-{last}")} is out of range"));
        }

        var plan = await PlanStore.LoadTasksAsync(store, index, stage, first, last, cancellationToken).ConfigureAwait(false);
        return new WorkerTasks(plan, [.. Enumerable.Range(first, last - first + 1).Select(i => new TaskId(stage, i))]);
    }

    /// <summary>
    /// Starts the span of this worker's tasks: a child of the driver's task span when the driver passed its trace
    /// context (<see cref="WorkerEnvironment.TraceParent"/>), so that the storage calls of a worker process join the
    /// run's trace.
    /// </summary>
    public static Activity? StartSpan(Plan plan, int stage, (int First, int Last) tasks, int attempt)
    {
        if (!DataflowTracing.Source.HasListeners())
        {
            return null;
        }

        ActivityContext.TryParse(Environment.GetEnvironmentVariable(WorkerEnvironment.TraceParent), null, out var parent);
        var span = DataflowTracing.Source.StartActivity("dataflow.worker", ActivityKind.Internal, parent);
        span?.SetTag(DataflowTracing.RunTag, plan.RunId);
        span?.SetTag(DataflowMetrics.JobTag, plan.Job);
        span?.SetTag(DataflowMetrics.StageTag, plan.Stages[stage].Name);
        span?.SetTag("dataflow.tasks", tasks.First == tasks.Last ? tasks.First.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{tasks.First}-{tasks.Last}"));
        span?.SetTag(DataflowTracing.AttemptTag, attempt);
        return span;
    }

    /// <summary>This worker's name for its commit markers: the host name (a pod's name, which Kubernetes also puts in <c>HOSTNAME</c>).</summary>
    private static string WorkerName() =>
        Environment.GetEnvironmentVariable("HOSTNAME") is { Length: > 0 } host ? host : Environment.MachineName;

    /// <summary>Runs <paramref name="tasks"/> of <paramref name="plan"/>, at most <paramref name="concurrency"/> at once.</summary>
    /// <returns>True when every task is committed (now or before); false when one failed (the failure is written to <paramref name="error"/>).</returns>
    public static async Task<bool> RunAsync(
        IObjectStore store,
        Plan plan,
        Job job,
        IReadOnlyList<TaskId> tasks,
        int concurrency,
        int attempt,
        TextWriter output,
        Action<string> error,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var layout = new RunLayout(plan.RunId);
        var lookup = new CommitLookup(store, layout);
        var options = new JobRunnerOptions { MaxAttempts = 1, TaskTimeout = Timeout.InfiniteTimeSpan, Concurrency = concurrency };
        var failed = 0;
        var gate = new Lock();
        var reportedRetries = store.RetriedRequests;
        await Parallel.ForEachAsync(
            tasks,
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (id, token) =>
            {
                var counters = new RunCounters(plan.Job);
                string status;
                string? attemptId;
                if (await lookup.FindAsync(id, token).ConfigureAwait(false) is { } existing)
                {
                    status = "skipped";
                    attemptId = existing.AttemptId;
                }
                else
                {
                    var runner = new TaskRunner(
                        job, plan, store, options, counters,
                        lookup.GetAsync,
                        async marker => await store.PutAsync(
                            layout.TaskCommitKey(marker.Task, marker.AttemptId),
                            RunRecords.Serialize(new CommitRecord { RunId = layout.RunId, Markers = [marker] }),
                            CancellationToken.None).ConfigureAwait(false),
                        (keys, ct) => DiscardAsync(store, layout, keys))
                    {
                        FirstAttempt = attempt,
                        Logger = logger,
                        WorkerName = WorkerName(),
                    };
                    try
                    {
                        attemptId = (await runner.RunAsync(id, token).ConfigureAwait(false)).AttemptId;
                        status = "committed";
                    }
                    catch (TaskFailedException ex)
                    {
                        Interlocked.Increment(ref failed);
                        lock (gate)
                        {
                            error(ex.Message);
                        }

                        return;
                    }
                    catch (InputLostException ex)
                    {
                        // The driver makes the lost input again and runs this task again: say which object it was.
                        Interlocked.Increment(ref failed);
                        lock (gate)
                        {
                            error(ex.Message);
                            output.WriteLine(ReportPrefix + JsonSerializer.Serialize(new WorkerReport(id, "lost", null, counters.BytesRead, counters.BytesWritten) { LostObject = ex.ObjectKey }, WorkerJsonContext.Default.WorkerReport));
                            output.Flush();
                        }

                        return;
                    }
                }

                lock (gate)
                {
                    var retried = store.RetriedRequests;
                    var report = new WorkerReport(id, status, attemptId, counters.BytesRead, counters.BytesWritten) { StoreRetries = retried - reportedRetries };
                    reportedRetries = retried;
                    output.WriteLine(ReportPrefix + JsonSerializer.Serialize(report, WorkerJsonContext.Default.WorkerReport));
                    output.Flush();
                }
            }).ConfigureAwait(false);
        return failed == 0;
    }

    /// <summary>Parses a task range: <c>7</c> or <c>0-99</c> (inclusive).</summary>
    /// <exception cref="FormatException">Not a task index or range.</exception>
    public static (int First, int Last) ParseRange(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var first = dash < 0 ? text : text[..dash];
        var last = dash < 0 ? text : text[(dash + 1)..];
        if (!int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var a)
            || !int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var b)
            || b < a)
        {
            throw new FormatException($"'{text}' is not a task index or a range of them such as 0-99");
        }

        return (a, b);
    }

    /// <summary>Reads a report line, or returns <see langword="null"/> for any other line.</summary>
    internal static WorkerReport? ParseReport(string line)
    {
        if (!line.StartsWith(ReportPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(line.AsSpan(ReportPrefix.Length), WorkerJsonContext.Default.WorkerReport);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async ValueTask DiscardAsync(IObjectStore store, RunLayout layout, IEnumerable<string> keys)
    {
        var data = keys.Where(k => k.StartsWith(layout.DataPrefix, StringComparison.Ordinal)).ToList();
        if (data.Count == 0)
        {
            return;
        }

        try
        {
            await store.DeleteAsync(data, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectStoreException)
        {
            // The driver's sweep deletes what no committed attempt holds.
        }
    }
}

/// <summary>What a worker was given to run: the plan with its tasks loaded (see <see cref="TaskWorker.LoadTasksAsync"/>), and the tasks.</summary>
/// <param name="Plan">The run's plan; only the chunks of <paramref name="Tasks"/> are loaded.</param>
/// <param name="Tasks">The tasks, in order, all of one stage.</param>
public sealed record WorkerTasks(Plan Plan, IReadOnlyList<TaskId> Tasks);

/// <summary>One task's outcome in a worker.</summary>
/// <param name="Task">The task.</param>
/// <param name="Status"><c>committed</c>, <c>skipped</c> when it had committed before, or <c>lost</c> when a committed input was missing or failed verification (see <see cref="LostObject"/>).</param>
/// <param name="AttemptId">The attempt that committed.</param>
/// <param name="BytesRead">Bytes the attempt read.</param>
/// <param name="BytesWritten">Bytes the attempt wrote.</param>
internal sealed record WorkerReport(TaskId Task, string Status, string? AttemptId, long BytesRead, long BytesWritten)
{
    /// <summary>For status <c>lost</c>: the object of a committed input that was missing or failed verification.</summary>
    public string? LostObject { get; init; }

    /// <summary>Store requests the worker retried since its previous report.</summary>
    public long StoreRetries { get; init; }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(Converters = [typeof(TaskIdJsonConverter)], PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(WorkerReport))]
internal sealed partial class WorkerJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
