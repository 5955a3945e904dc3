using System.Threading.Channels;
using Dataflow.Core;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// One failed attempt of a task, as its driver stored it while the run went on
/// (<c>_dataflow/runs/&lt;run-id&gt;/failures/s&lt;stage&gt;/t&lt;task&gt;.&lt;attempt-id&gt;.json</c>): what a live view of a
/// running run shows of its failures, before the run report has them. A record, like the commit records and the
/// summary: the run's clean-up and <c>gc</c> keep it.
/// </summary>
internal sealed record FailureRecord
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>The record's schema version.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The task (<c>stage/index</c>).</summary>
    public required TaskId Task { get; init; }

    /// <summary>The attempt's number, from 1 (a task run again after a repair, or in a resumed run, counts from 1 again).</summary>
    public required int Attempt { get; init; }

    /// <summary>The attempt's id (<see cref="RunLayout.NewAttemptId"/>), when the driver knows it (a worker process may not say).</summary>
    public string? AttemptId { get; init; }

    /// <summary>Where it ran: a worker process or pod; <see langword="null"/> for the driver's own process.</summary>
    public string? Worker { get; init; }

    /// <summary>When it started (UTC).</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When it failed (UTC).</summary>
    public required DateTimeOffset EndedAt { get; init; }

    /// <summary>Why, as the run report's attempt says it (the error's message).</summary>
    public required string Error { get; init; }

    /// <summary>The type of the error the driver caught (e.g. <c>System.IO.IOException</c>), when it caught one.</summary>
    public string? ErrorType { get; init; }

    /// <summary>True when the error is one no attempt can mend, so the task was not tried again (see <see cref="Job.IsPermanentFailure"/>).</summary>
    public bool Permanent { get; init; }

    /// <summary>True when the attempt found a committed input lost (missing or damaged): its task is made again first.</summary>
    public bool LostInput { get; init; }

    /// <summary>The object found lost, when <see cref="LostInput"/>.</summary>
    public string? LostObject { get; init; }

    /// <summary>The record of a failed attempt that threw <paramref name="error"/>.</summary>
    public static FailureRecord Of(TaskId task, int attempt, string? attemptId, string? worker, DateTimeOffset startedAt, DateTimeOffset endedAt, Exception error, bool permanent)
    {
        var lost = InputLostException.Find(error);
        return new FailureRecord
        {
            Task = task,
            Attempt = attempt,
            AttemptId = attemptId,
            Worker = worker,
            StartedAt = startedAt.ToUniversalTime(),
            EndedAt = endedAt.ToUniversalTime(),
            Error = error.Message,
            ErrorType = error.GetType().FullName,
            Permanent = permanent,
            LostInput = lost is not null,
            LostObject = lost?.ObjectKey,
        };
    }
}

/// <summary>
/// Stores a run's failure records as attempts fail (<see cref="FailureRecord"/>), off the failing task's path: a
/// record is queued, and one writer stores the queue in order. At most <see cref="MaxRecords"/> per driver; later
/// failures are only counted. A record that cannot be stored is logged and fails nothing.
/// </summary>
internal sealed partial class FailureRecorder : IAsyncDisposable
{
    /// <summary>Failure records one driver stores; past them a run that fails in bulk only counts its failures.</summary>
    public const int MaxRecords = 1000;

    private readonly IObjectStore _store;
    private readonly RunLayout _layout;
    private readonly ILogger _logger;
    private readonly int _max;
    private readonly Channel<(string Key, FailureRecord Record)> _queue =
        Channel.CreateUnbounded<(string, FailureRecord)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writing;
    private int _failures;

    public FailureRecorder(IObjectStore store, RunLayout layout, ILogger logger, int max = MaxRecords)
    {
        _store = store;
        _layout = layout;
        _logger = logger;
        _max = max;
        _writing = Task.Run(WriteAsync);
    }

    /// <summary>Failed attempts recorded or counted so far.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Queues <paramref name="record"/> to be stored (or, past <see cref="MaxRecords"/>, only counts it); returns at once.</summary>
    public void Add(FailureRecord record)
    {
        var number = Interlocked.Increment(ref _failures);
        if (number > _max)
        {
            if (number == _max + 1)
            {
                Log.OnlyCounted(_logger, _max);
            }

            return;
        }

        var key = _layout.FailureKey(record.Task, record.AttemptId ?? RunLayout.NewAttemptId(record.Attempt));
        if (!_queue.Writer.TryWrite((key, record)))
        {
            // Flushed already: the run's summary is being written, and no attempt runs any more.
            Log.NotStored(_logger, key, "the run is ending", null);
        }
    }

    /// <summary>Waits until every record queued so far is stored (or found not storable); records added later are not stored.</summary>
    public Task FlushAsync()
    {
        _queue.Writer.TryComplete();
        return _writing;
    }

    public ValueTask DisposeAsync() => new(FlushAsync());

    private async Task WriteAsync()
    {
        await foreach (var (key, record) in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await _store.PutAsync(key, RunRecords.Serialize(record), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // A record of a failure must never be the run's failure.
                Log.NotStored(_logger, key, ex.Message, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "The failure record {Key} could not be stored: {Error}")]
        public static partial void NotStored(ILogger logger, string key, string error, Exception? exception);

        [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "{Max} failed attempts are recorded in the store; further failures are counted only")]
        public static partial void OnlyCounted(ILogger logger, int max);
    }
}

/// <summary>Reads a run's failure records (<see cref="FailureRecord"/>), for a view of a run that may still be going on.</summary>
internal static class RunFailures
{
    /// <summary>How many records are read at once.</summary>
    private const int ParallelReads = 8;

    /// <summary>
    /// The newest <paramref name="max"/> failure records of run <paramref name="runId"/> (by when they were stored),
    /// newest first by when the attempt failed, and how many the run has in all. A record that cannot be read is
    /// reported in <see cref="RunFailureList.Damaged"/> instead.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public static async Task<RunFailureList> ReadAsync(IObjectStore store, string runId, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var layout = new RunLayout(runId);
        var all = await store.ListAllAsync(layout.FailuresPrefix, cancellationToken).ConfigureAwait(false);
        var newest = all
            .OrderByDescending(i => i.LastModified)
            .ThenByDescending(i => i.Key, StringComparer.Ordinal)
            .Take(max)
            .ToList();
        var read = new (FailureRecord? Record, string? Problem)[newest.Count];
        await Parallel.ForAsync(
            0,
            newest.Count,
            new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var key = newest[i].Key;
                try
                {
                    read[i] = (RunRecords.DeserializeFailure(await store.ReadAllBytesAsync(key, token).ConfigureAwait(false), key), null);
                }
                catch (ObjectNotFoundException)
                {
                    // Deleted since the listing: not a record any more.
                }
                catch (InvalidDataException ex)
                {
                    read[i] = (null, ex.Message);
                }
            }).ConfigureAwait(false);

        var failures = read
            .Where(r => r.Record is not null)
            .Select(r => r.Record!)
            .OrderByDescending(r => r.EndedAt)
            .ToList();
        var damaged = newest
            .Select((info, i) => (info.Key, read[i].Problem))
            .Where(d => d.Problem is not null)
            .Select(d => new DamagedRecord(d.Key, d.Problem!))
            .ToList();
        return new RunFailureList(failures, all.Count, damaged);
    }
}

/// <summary>A run's failure records, as <see cref="RunFailures.ReadAsync"/> read them.</summary>
/// <param name="Failures">The records read, newest first.</param>
/// <param name="Total">Failure records the run has in all (damaged ones and those past the ones read included).</param>
/// <param name="Damaged">Records among the newest that could not be read.</param>
internal sealed record RunFailureList(IReadOnlyList<FailureRecord> Failures, int Total, IReadOnlyList<DamagedRecord> Damaged);

/// <summary>A record that could not be read: its key, and why.</summary>
internal sealed record DamagedRecord(string Key, string Problem);
