using System.Diagnostics;
using System.Globalization;
using Dataflow.Core;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>The pooled worker: many tasks, one at a time, over a pipe.</summary>
public static partial class TaskWorker
{
    /// <summary>
    /// Serves the process executor's pool (<c>worker --plan &lt;uri&gt; --serve</c>): reads run
    /// <paramref name="runId"/>'s plan index and defines its job once, says on <paramref name="reports"/> that it is
    /// ready, then runs the tasks requested on <paramref name="requests"/> one at a time — each committed as
    /// <see cref="RunAsync"/> commits it, with a commit record of its own — and answers each with one report line,
    /// until the requests end. A task's failure is reported, not thrown: the worker goes on serving.
    /// </summary>
    /// <param name="store">The run's store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="defineJob">Defines the run's job from its stored plan (no task loaded: its name and arguments).</param>
    /// <param name="requests">The requests, one JSON object per line: the worker's standard input.</param>
    /// <param name="reports">Where the greeting and the reports go: the worker's standard output.</param>
    /// <param name="logger">Where attempts log.</param>
    /// <param name="cancellationToken">Stops the worker, the task it runs included.</param>
    /// <returns>False when the store has no such run (nothing is served); true when the requests ended.</returns>
    /// <exception cref="ArgumentException">The plan was made by another Dataflow build.</exception>
    /// <exception cref="InvalidDataException">A request is not one of this worker's protocol (the message quotes it), or the stored plan's index is damaged.</exception>
    public static async Task<bool> ServeAsync(IObjectStore store, string runId, Func<Plan, Job> defineJob, TextReader requests, TextWriter reports, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(defineJob);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(logger);

        // This process serves, as the process executor that started it expects: a job an operator runs in it is its own.
        Environment.SetEnvironmentVariable(WorkerEnvironment.ServedPlan, null);
        if (await LoadIndexAsync(store, runId, cancellationToken).ConfigureAwait(false) is not { } index)
        {
            return false;
        }

        var plans = new ServedPlan(store, index);
        var job = defineJob(plans.Plan);
        var layout = new RunLayout(index.RunId, index.Cache == CacheMode.On);
        await reports.WriteLineAsync(WorkerProtocol.FormatHello(Environment.ProcessId).AsMemory(), cancellationToken).ConfigureAwait(false);
        await reports.FlushAsync(cancellationToken).ConfigureAwait(false);
        var reportedRetries = store.RetriedRequests;
        Task<CommitRecord[]>? batches = null;
        for (var number = 1; ; number++)
        {
            // A read of standard input does not see the token once it waits: stop waiting for it instead.
            var line = await requests.ReadLineAsync(cancellationToken).AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                return true;
            }

            var request = WorkerProtocol.ParseRequest(line, number);
            var id = request.Task!.Value;
            WorkerReport report;

            // What the worker asks of the store for this task outside its attempt (the plan's chunk, its commit lookup).
            var outside = new StoreRequestCounts();
            var counting = StoreRequests.Begin(outside);
            try
            {
                var plan = await plans.LoadAsync(id, cancellationToken).ConfigureAwait(false);
                using var span = StartSpan(plan, id.Stage, (id.Index, id.Index), request.Attempt, request.TraceParent);

                // A lookup per task: a commit it found stays cached, and the driver may set one aside between two tasks.
                // The batch records are read again only if reading them failed.
                // Taken after the task: its lookup reads them again if it missed a producer in them (one the driver
                // made again meanwhile).
                var lookup = new CommitLookup(store, layout, batches is { IsFaulted: false, IsCanceled: false } ? batches : null);
                report = await RunTaskAsync(store, plan, job, lookup, id, request.Attempt, logger, measuresProcess: true, cancellationToken).ConfigureAwait(false);
                batches = lookup.Batches;
                if (report.Failure is { } failure)
                {
                    // The driver names the task, its stage and inputs and the attempts itself: it needs the cause only.
                    report = report with { Error = failure.Reason };
                }

                if (report.Error is { } error)
                {
                    span?.SetStatus(ActivityStatusCode.Error, error);
                }
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidDataException)
            {
                report = new WorkerReport(id, WorkerProtocol.Refused, null, 0, 0) { Error = ex.Message };
            }

            counting.Dispose();
            report = WithRequestsOutsideTheAttempt(report, outside);

            var retried = store.RetriedRequests;
            await reports.WriteLineAsync(WorkerProtocol.FormatReport(report with { StoreRetries = retried - reportedRetries }).AsMemory(), cancellationToken).ConfigureAwait(false);
            await reports.FlushAsync(cancellationToken).ConfigureAwait(false);
            reportedRetries = retried;
        }
    }
}

/// <summary>
/// A stored plan as a pooled worker holds it: the index read once, each chunk of tasks read when a task in it is first
/// asked for and kept for the worker's life (a plan is never changed once stored).
/// </summary>
internal sealed class ServedPlan(IObjectStore store, PlanIndex index)
{
    private readonly Dictionary<(int Stage, int Chunk), PlanChunk> _chunks = [];
    private Plan? _whole;

    /// <summary>The plan with the chunks read so far (none at first: the plan's name, arguments and outputs).</summary>
    public Plan Plan { get; private set; } = PlanChunks.Partial(index, []);

    /// <summary>The plan with <paramref name="task"/>'s chunk read.</summary>
    /// <exception cref="ArgumentException">The plan has no such task.</exception>
    /// <exception cref="InvalidDataException">The chunk is missing or damaged.</exception>
    public async ValueTask<Plan> LoadAsync(TaskId task, CancellationToken cancellationToken)
    {
        if (task.Stage < 0 || task.Stage >= index.Stages.Count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"run '{index.RunId}' has stages 0 to {index.Stages.Count - 1}, not {task.Stage}"));
        }

        var count = index.Stages[task.Stage].Tasks;
        if (task.Index < 0 || task.Index >= count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"stage {task.Stage} '{index.Stages[task.Stage].Name}' of run '{index.RunId}' has tasks 0 to {count - 1}; {task.Index} is out of range"));
        }

        if (index.SchemaVersion == 1)
        {
            // A whole plan stored by an earlier build has no chunks: it is read whole, once.
            return Plan = _whole ??= await PlanStore.LoadAsync(store, index.RunId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"the plan of run '{index.RunId}' disappeared from {store.Location} while it was read");
        }

        var key = (Stage: task.Stage, Chunk: task.Index / index.ChunkSize);
        if (!_chunks.ContainsKey(key))
        {
            _chunks[key] = await PlanStore.LoadChunkAsync(store, index, key.Stage, key.Chunk, cancellationToken).ConfigureAwait(false);
            Plan = PlanChunks.Partial(index, _chunks.Values);
        }

        return Plan;
    }
}
