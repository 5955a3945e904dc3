using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dataflow.Core;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// The worker's side of pods and of the process executor (the <c>worker</c> command): reads the part of a stored plan
/// that holds the tasks it is given, and runs those tasks, each once, committing each with a commit record of its own
/// — a task, a range or a shard at once (<see cref="RunAsync"/>, a pod, which then stores one shard record of them
/// all), or one task after another as they come on a pipe (<see cref="ServeAsync"/>, a pooled worker). A task found
/// committed already is not run again.
/// </summary>
public static partial class TaskWorker
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
        var index = await LoadIndexAsync(store, runId, cancellationToken).ConfigureAwait(false);
        if (index is null)
        {
            return null;
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

    /// <summary>The index of run <paramref name="runId"/>'s plan, or <see langword="null"/> when the store has no such run.</summary>
    /// <exception cref="ArgumentException">The plan was made by another Dataflow build.</exception>
    private static async Task<PlanIndex?> LoadIndexAsync(IObjectStore store, string runId, CancellationToken cancellationToken)
    {
        var index = await PlanStore.LoadIndexAsync(store, runId, cancellationToken).ConfigureAwait(false);
        if (index is not null && !string.Equals(index.DataflowVersion, DataflowInfo.Version, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the plan of run '{runId}' was made by Dataflow {index.DataflowVersion}; this worker is Dataflow {DataflowInfo.Version}: run workers of the same build as the driver (a stale image?)");
        }

        return index;
    }

    /// <summary>
    /// Starts the span of this worker's tasks: a child of the driver's task span when the driver passed its trace
    /// context (<see cref="WorkerEnvironment.TraceParent"/>), so that the storage calls of a worker process join the
    /// run's trace.
    /// </summary>
    public static Activity? StartSpan(Plan plan, int stage, (int First, int Last) tasks, int attempt) =>
        DataflowTracing.Source.HasListeners()
            ? StartSpan(plan, stage, tasks, attempt, Environment.GetEnvironmentVariable(WorkerEnvironment.TraceParent))
            : null;

    /// <summary>Starts the span of this worker's tasks, a child of the span of W3C trace context <paramref name="traceParent"/> if given.</summary>
    internal static Activity? StartSpan(Plan plan, int stage, (int First, int Last) tasks, int attempt, string? traceParent)
    {
        if (!DataflowTracing.Source.HasListeners())
        {
            return null;
        }

        ActivityContext.TryParse(traceParent, null, out var parent);
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
    /// <returns>
    /// <see cref="ShardOutcome.Succeeded"/> when every task is committed (now or before); otherwise
    /// <see cref="ShardOutcome.Failed"/>, or <see cref="ShardOutcome.FailedPermanently"/> when a task failed in a way
    /// its job says trying again will not change (the failures are written to <paramref name="error"/>).
    /// </returns>
    public static async Task<ShardOutcome> RunAsync(
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
        var lookup = new CommitLookup(store, RunLayout.Of(plan));
        var shard = tasks;
        if (plan.Cache != CacheMode.Off)
        {
            // Tasks the driver found it need not look up or run (only tasks taken from the cache read them).
            var notNeeded = await TaskRanges.ReadNotNeededAsync(store, RunLayout.Of(plan), cancellationToken).ConfigureAwait(false);
            tasks = [.. tasks.Where(t => !notNeeded.Contains(t))];
        }

        var failed = new List<TaskId>();
        var permanent = false;
        var markers = new List<CommitMarker>();
        var gate = new Lock();
        var reportedRetries = store.RetriedRequests;
        await Parallel.ForEachAsync(
            tasks,
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (id, token) =>
            {
                // One task at a time has the process to itself: its CPU and peak memory are its own.
                var report = await RunTaskAsync(store, plan, job, lookup, id, attempt, logger, measuresProcess: concurrency == 1 || tasks.Count == 1, token).ConfigureAwait(false);
                lock (gate)
                {
                    switch (report.Status)
                    {
                        case WorkerProtocol.Failed:
                            failed.Add(id);
                            permanent |= report.Permanent;
                            error(report.Error!);
                            break;
                        case WorkerProtocol.Lost:
                            // The driver makes the lost input again and runs this task again: say which object it was.
                            failed.Add(id);
                            error(report.Error!);
                            output.WriteLine(WorkerProtocol.FormatReport(report with { Error = null }));
                            output.Flush();
                            break;
                        default:
                            markers.Add(report.Marker!);
                            var retried = store.RetriedRequests;
                            output.WriteLine(WorkerProtocol.FormatReport(report with { StoreRetries = retried - reportedRetries }));
                            output.Flush();
                            reportedRetries = retried;
                            break;
                    }
                }
            }).ConfigureAwait(false);
        if (shard.Count > 1)
        {
            await WriteShardRecordAsync(store, plan.RunId, shard, markers, failed, permanent, error).ConfigureAwait(false);
        }

        return failed.Count == 0 ? ShardOutcome.Succeeded : permanent ? ShardOutcome.FailedPermanently : ShardOutcome.Failed;
    }

    /// <summary>
    /// Stores the shard record of a worker that ran several tasks (a pod's shard): the winning commits of those that
    /// committed, now or before, and those that failed, so that a driver learns the shard's commits from one object
    /// (<see cref="CommitIndex.ReadShardAsync"/>). Each task's own record stays its commit; a record that cannot be
    /// stored is said on <paramref name="error"/> and leaves the driver to read those.
    /// </summary>
    private static async Task WriteShardRecordAsync(IObjectStore store, string runId, IReadOnlyList<TaskId> tasks, List<CommitMarker> markers, List<TaskId> failed, bool permanent, Action<string> error)
    {
        var layout = new RunLayout(runId);
        var (stage, first, last) = (tasks[0].Stage, tasks.Min(t => t.Index), tasks.Max(t => t.Index));
        var key = layout.ShardCommitKey(stage, first, last, string.Create(CultureInfo.InvariantCulture, $"w{Random.Shared.Next():x8}"));
        var record = new CommitRecord
        {
            RunId = runId,
            Markers = [.. markers.OrderBy(m => m.Task.Index)],
            Shard = new ShardRun(stage, first, last, [.. failed.Order()], permanent),
        };
        try
        {
            // Not cancellable: the tasks have committed or failed; the record either lands whole or not at all.
            await store.PutAsync(key, RunRecords.Serialize(record), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex)
        {
            error($"the shard record '{key}' of tasks {first}-{last} of stage {stage} of run '{runId}' cannot be stored ({ex.Message}); the driver reads the tasks' own commit records instead");
        }
    }

    /// <summary>
    /// Runs one attempt of <paramref name="id"/> (unless it has committed before) and commits it with a commit record of
    /// its own, as every worker does.
    /// </summary>
    /// <returns>
    /// The task's report: <see cref="WorkerProtocol.Committed"/> or <see cref="WorkerProtocol.Skipped"/>;
    /// <see cref="WorkerProtocol.Lost"/> with the object; <see cref="WorkerProtocol.Failed"/> with the error.
    /// </returns>
    private static async Task<WorkerReport> RunTaskAsync(IObjectStore store, Plan plan, Job job, CommitLookup lookup, TaskId id, int attempt, ILogger logger, bool measuresProcess, CancellationToken cancellationToken)
    {
        var layout = RunLayout.Of(plan);
        var counters = new RunCounters(plan.Job);
        try
        {
            if (await lookup.FindAsync(id, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return new WorkerReport(id, WorkerProtocol.Skipped, existing.AttemptId, 0, 0) { Marker = existing };
            }
        }
        catch (ObjectStoreException ex)
        {
            return new WorkerReport(id, WorkerProtocol.Failed, null, 0, 0) { Error = $"task {id} of run '{plan.RunId}': its commit records cannot be read: {ex.Message}" };
        }

        var options = new JobRunnerOptions { MaxAttempts = 1, TaskTimeout = Timeout.InfiniteTimeSpan, Concurrency = 1 };
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
            MeasuresProcess = measuresProcess,
            CommitsOwnRecord = true,
        };
        try
        {
            var marker = await runner.RunAsync(id, cancellationToken).ConfigureAwait(false);
            return new WorkerReport(id, WorkerProtocol.Committed, marker.AttemptId, counters.BytesRead, counters.BytesWritten) { Marker = marker, Resources = runner.LastResources };
        }
        catch (TaskFailedException ex)
        {
            return new WorkerReport(id, WorkerProtocol.Failed, null, counters.BytesRead, counters.BytesWritten) { Error = ex.Message, Permanent = ex.Permanent, Failure = ex, Resources = runner.LastResources };
        }
        catch (InputLostException ex)
        {
            return new WorkerReport(id, WorkerProtocol.Lost, null, counters.BytesRead, counters.BytesWritten) { LostObject = ex.ObjectKey, Error = ex.Message, Resources = runner.LastResources };
        }
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
/// <param name="Status"><c>committed</c>, <c>skipped</c> when it had committed before, or <c>lost</c> when a committed input was missing or failed verification (see <see cref="LostObject"/>); from a pooled worker also <c>failed</c> and <c>refused</c> (see <see cref="WorkerProtocol"/>).</param>
/// <param name="AttemptId">The attempt that committed.</param>
/// <param name="BytesRead">Bytes the attempt read.</param>
/// <param name="BytesWritten">Bytes the attempt wrote.</param>
internal sealed record WorkerReport(TaskId Task, string Status, string? AttemptId, long BytesRead, long BytesWritten)
{
    /// <summary>For status <c>lost</c>: the object of a committed input that was missing or failed verification.</summary>
    public string? LostObject { get; init; }

    /// <summary>Store requests the worker retried since its previous report.</summary>
    public long StoreRetries { get; init; }

    /// <summary>What the attempt used (CPU, peak memory, store requests), failed attempts' included; left out by workers of earlier builds.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public ResourceUse? Resources { get; init; }

    /// <summary>
    /// For status <c>failed</c> or <c>refused</c>: why. A pooled worker reports a failed task's cause alone (its type
    /// and message; the driver names the task around it), a pod's worker the whole <see cref="TaskFailedException"/> message.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }

    /// <summary>
    /// For status <c>failed</c>: true when the worker's job found the failure permanent (<see cref="Job.IsPermanentFailure"/>),
    /// so that the driver does not try the task again. Left out when false (a driver of an earlier build ignores it).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool Permanent { get; init; }

    /// <summary>For status <c>failed</c>: the task's failure in this process (not reported: <see cref="Error"/> carries its text).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TaskFailedException? Failure { get; init; }

    /// <summary>For status <c>committed</c> or <c>skipped</c>: the winning commit, for the worker's shard record (not reported).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CommitMarker? Marker { get; init; }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(Converters = [typeof(TaskIdJsonConverter)], PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(WorkerReport))]
[System.Text.Json.Serialization.JsonSerializable(typeof(TaskRequest))]
[System.Text.Json.Serialization.JsonSerializable(typeof(WorkerHello))]
internal sealed partial class WorkerJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
