using System.Globalization;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// One run as its records in the store show it, read again and again while it goes on: what the web UI shows. Each
/// <see cref="RefreshAsync"/> reads only what changed — the commit records written since the last one (records never
/// change once written), the lease, and the summary and report once they exist — and folds the tasks' commits into
/// a few numbers per task, so that a run of a million tasks is read once and then followed at the cost of its new
/// records. What it gives is aggregated (<see cref="GetView"/>, <see cref="GetTimeline"/>) or paged
/// (<see cref="GetTasks"/>): never a row per task.
/// </summary>
/// <remarks>
/// It reads only records (plan, commit records, lease, summary, report), so it follows runs of any executor, driven
/// from any machine; it writes nothing. Thread-safe: refreshes are serialized, and the views read a consistent state.
/// </remarks>
public sealed partial class RunWatcher : IDisposable
{
    private readonly IObjectStore _store;
    private readonly RunLayout _layout;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly Lock _gate = new();
    private readonly HashSet<string> _recordsRead = new(StringComparer.Ordinal);
    private readonly HashSet<(TaskId Task, string AttemptId)> _setAside = [];
    private readonly Dictionary<TaskId, List<Commit>> _otherCommits = [];
    private readonly Dictionary<string, int> _rowIndex = new(StringComparer.Ordinal);
    private readonly List<string> _rows = [];
    private PlanIndex? _plan;
    private StageTasks[] _stages = [];
    private RunSummary? _summary;
    private RunReport? _report;
    private LeaseRecord? _lease;
    private string? _damage;
    private bool _exists;
    private bool _notNeededRead;
    private string? _summaryTag;
    private ProgressRecord? _progress;
    private readonly Dictionary<TaskId, PlanTask> _planTasks = [];

    // Plan tasks kept for their inputs (the failures and task details pages ask for).
    private const int MaxPlanTasks = 1024;
    private readonly List<FailureRecord> _failureRecords = [];
    private readonly HashSet<string> _failureKeysRead = new(StringComparer.Ordinal);
    private int _recordsPending;
    private double _lastEndMs;
    private readonly HashSet<(TaskId Task, string AttemptId)> _copied = [];

    // Records read between two checks of the refresh's time budget: with the driver's batches of up to a few thousand
    // markers, a slice takes tens of milliseconds to read and fold.
    private const int RecordsPerSlice = 16;

    // Failure records kept per run (two drivers' worth of FailureRecorder.MaxRecords).
    private const int MaxFailureRecords = 2000;
    private long _version;

    /// <summary>Follows run <paramref name="runId"/> of <paramref name="store"/>; nothing is read before the first <see cref="RefreshAsync"/>.</summary>
    /// <param name="store">The run's store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="time">The clock a lease's expiry and a running run's length are judged by; default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public RunWatcher(IObjectStore store, string runId, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _layout = new RunLayout(runId);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The run's id.</summary>
    public string RunId => _layout.RunId;

    /// <inheritdoc/>
    public void Dispose() => _refreshing.Dispose();

    /// <summary>
    /// Grows by one each time a refresh finds something new (a commit, a lease renewed or given up, a summary): a
    /// client that saw version <c>v</c> needs nothing new while it is still <c>v</c>.
    /// </summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Commit records listed by the last refresh and not read yet (see <see cref="RefreshAsync"/>'s budget).</summary>
    public int RecordsPending => Volatile.Read(ref _recordsPending);

    /// <summary>Commit records read so far.</summary>
    public int RecordsRead
    {
        get
        {
            lock (_gate)
            {
                return _recordsRead.Count;
            }
        }
    }

    /// <summary>
    /// Reads what changed in the run's records since the last refresh. Returns false when the store holds nothing of
    /// the run.
    /// </summary>
    /// <param name="budget">
    /// How long to go on reading new commit records (at least one slice of them is read); the rest are read by the
    /// next refreshes. <see langword="null"/>: all of them. A run of a million tasks has hundreds of megabytes of
    /// records: a budget keeps each refresh short while they are read the first time.
    /// </param>
    /// <param name="cancellationToken">Stops the reads; what was folded in stays.</param>
    /// <exception cref="ObjectStoreException">The store failed (after its own retries).</exception>
    public async Task<bool> RefreshAsync(TimeSpan? budget = null, CancellationToken cancellationToken = default)
    {
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var changed = false;
            if (_plan is null)
            {
                try
                {
                    if (await PlanStore.LoadIndexAsync(_store, RunId, cancellationToken).ConfigureAwait(false) is { } plan)
                    {
                        SetPlan(plan);
                        changed = true;
                    }
                }
                catch (InvalidDataException ex)
                {
                    changed |= SetDamage($"its plan cannot be read: {ex.Message}");
                }
            }

            var lease = await RunLease.ReadAsync(_store, _layout, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                changed |= lease != _lease;
                _lease = lease;
            }

            // What runs now, as the driver stores it while it holds the lease (ProgressPublisher).
            var progress = RunCatalog.IsLive(lease, _time) ? await ReadProgressAsync(cancellationToken).ConfigureAwait(false) : null;
            lock (_gate)
            {
                changed |= progress?.At != _progress?.At;
                _progress = progress;
            }

            // A run writes its summary (and report) each time a driver ends it: a resumed run writes them again.
            var summaryInfo = await _store.HeadAsync(_layout.SummaryKey, cancellationToken).ConfigureAwait(false);
            var summaryTag = summaryInfo is null ? null : string.Create(CultureInfo.InvariantCulture, $"{summaryInfo.ETag}|{summaryInfo.Size}|{summaryInfo.LastModified.UtcTicks}");
            if (summaryTag != _summaryTag)
            {
                _summaryTag = summaryTag;
                lock (_gate)
                {
                    _summary = null;
                    _report = null;
                }

                changed = true;
                if (summaryInfo is not null)
                {
                    await ReadSummaryAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            if (_report is null && _summary is not null)
            {
                changed |= await ReadReportAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_plan is not null)
            {
                changed |= await ReadNewFailuresAsync(cancellationToken).ConfigureAwait(false);
                changed |= await ReadNewCommitsAsync(budget ?? TimeSpan.MaxValue, cancellationToken).ConfigureAwait(false);
            }

            if (_plan is { Cache: not CacheMode.Off } && !_notNeededRead)
            {
                var notNeeded = await TaskRanges.ReadNotNeededAsync(_store, _layout, cancellationToken).ConfigureAwait(false);
                if (notNeeded.Count > 0)
                {
                    lock (_gate)
                    {
                        FoldNotNeeded(notNeeded);
                    }

                    changed = true;
                }

                // Written once, while the cache is looked up: read until found, or until the run has ended.
                _notNeededRead = notNeeded.Count > 0 || _summary is not null;
            }

            if (!_exists && (_plan is not null || _summary is not null || lease is not null))
            {
                _exists = true;
                changed = true;
            }

            if (!_exists && _plan is null)
            {
                // A run whose driver died while planning has records but no plan: it exists, damaged.
                await foreach (var _ in _store.ListAsync(_layout.Root, cancellationToken).ConfigureAwait(false))
                {
                    _exists = true;
                    changed |= SetDamage("it has no plan: its driver stopped while planning");
                    break;
                }
            }

            if (changed)
            {
                Interlocked.Increment(ref _version);
            }

            return _exists;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private bool SetDamage(string damage)
    {
        lock (_gate)
        {
            if (_damage == damage)
            {
                return false;
            }

            _damage = damage;
            return true;
        }
    }

    private void SetPlan(PlanIndex plan)
    {
        lock (_gate)
        {
            _plan = plan;
            _stages = [.. plan.Stages.Select(s => new StageTasks(s.Tasks))];
        }
    }
}
