using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The runs a store holds and their state, and the clean-up of a run that failed, crashed or was abandoned: what the
/// <c>runs</c>, <c>status</c> and <c>gc</c> commands show and do, for any host.
/// </summary>
public static class RunCatalog
{
    /// <summary>State of a run whose driver holds its lease now.</summary>
    public const string Running = "running";

    /// <summary>State of a run with a plan but neither a summary nor a live lease: its driver was killed.</summary>
    public const string Interrupted = "interrupted";

    /// <summary>Every run in the store, by run id (ordinal).</summary>
    /// <param name="store">The store.</param>
    /// <param name="time">The clock a lease's expiry is judged by; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    public static async Task<IReadOnlyList<RunListing>> ListAsync(IObjectStore store, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        time ??= TimeProvider.System;
        var runs = new SortedDictionary<string, RunFiles>(StringComparer.Ordinal);
        await foreach (var info in store.ListAsync(RunLayout.RunsPrefix, cancellationToken).ConfigureAwait(false))
        {
            var rest = info.Key.AsSpan(RunLayout.RunsPrefix.Length);
            var slash = rest.IndexOf('/');
            if (slash <= 0)
            {
                continue;
            }

            var id = rest[..slash].ToString();
            if (!runs.TryGetValue(id, out var files))
            {
                runs[id] = files = new RunFiles();
            }

            var layout = new RunLayout(id);
            if (info.Key == layout.PlanKey)
            {
                files.Plan = true;
            }
            else if (info.Key == layout.SummaryKey)
            {
                files.Summary = true;
            }
            else if (info.Key == layout.LeaseKey)
            {
                files.Lease = true;
            }
            else if (info.Key.StartsWith(layout.DataPrefix, StringComparison.Ordinal))
            {
                files.DataObjects++;
                files.DataBytes += info.Size;
            }
        }

        var listings = new List<RunListing>(runs.Count);
        foreach (var (id, files) in runs)
        {
            var layout = new RunLayout(id);
            var summary = files.Summary ? await ReadSummaryAsync(store, layout, cancellationToken).ConfigureAwait(false) : null;
            var lease = files.Lease ? await RunLease.ReadAsync(store, layout, cancellationToken).ConfigureAwait(false) : null;
            var job = summary?.Job;
            if (job is null && files.Plan)
            {
                job = (await PlanStore.LoadIndexAsync(store, id, cancellationToken).ConfigureAwait(false))?.Job;
            }

            listings.Add(new RunListing(id, job, State(files.Plan, summary, lease, time), summary, Info(lease, time), files.DataObjects, files.DataBytes));
        }

        return listings;
    }

    /// <summary>The state of one run, with its stages' progress; <see langword="null"/> when the store has no such run.</summary>
    /// <param name="store">The store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="time">The clock a lease's expiry is judged by; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="cancellationToken">Stops the reads.</param>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public static async Task<RunStatus?> GetStatusAsync(IObjectStore store, string runId, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        time ??= TimeProvider.System;
        var layout = new RunLayout(runId);
        var plan = await PlanStore.LoadIndexAsync(store, runId, cancellationToken).ConfigureAwait(false);
        if (plan is null)
        {
            return null;
        }

        var summary = await ReadSummaryAsync(store, layout, cancellationToken).ConfigureAwait(false);
        var lease = await RunLease.ReadAsync(store, layout, cancellationToken).ConfigureAwait(false);
        var committed = await CommitIndex.LoadAllAsync(store, layout, cancellationToken).ConfigureAwait(false);
        var stages = plan.Stages
            .Select((stage, i) => new StageStatus(stage.Name, stage.Tasks, committed.Keys.Count(t => t.Stage == i)))
            .ToList();
        var objects = 0;
        var bytes = 0L;
        await foreach (var info in store.ListAsync(layout.DataPrefix, cancellationToken).ConfigureAwait(false))
        {
            objects++;
            bytes += info.Size;
        }

        return new RunStatus(
            new RunListing(runId, plan.Job, State(true, summary, lease, time), summary, Info(lease, time), objects, bytes),
            plan.CreatedAt,
            plan.DataflowVersion,
            plan.InputCount,
            plan.TaskCount,
            stages);
    }

    /// <summary>True when the store holds anything of run <paramref name="runId"/> (a plan, records or data).</summary>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public static async Task<bool> ExistsAsync(IObjectStore store, string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await foreach (var _ in store.ListAsync(new RunLayout(runId).Root, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return false;
    }

    /// <summary>
    /// Cleans up after run <paramref name="runId"/> (the <c>gc</c> command): aborts its incomplete multipart uploads
    /// (found through the store's upload journal, without listing uploads) and, unless <paramref name="keepData"/>,
    /// deletes its intermediate data; and deletes the temporary files that dead writers left in the store. Its plan,
    /// commit records and summary stay.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="keepData">Only abort incomplete uploads; keep the intermediate data (e.g. to resume the run).</param>
    /// <param name="time">The clock a lease's expiry is judged by; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="cancellationToken">Stops the clean-up; what is deleted stays deleted.</param>
    /// <exception cref="RunLeaseException">A driver holds the run's lease now: its data is in use.</exception>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public static async Task<RunCleanup> CleanAsync(IObjectStore store, string runId, bool keepData, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var layout = new RunLayout(runId);
        if (await RunLease.ReadAsync(store, layout, cancellationToken).ConfigureAwait(false) is { } lease && IsLive(lease, time ?? TimeProvider.System))
        {
            throw new RunLeaseException(runId, lease.Holder, lease.ExpiresAt);
        }

        var cleanup = await Sweeper.CleanAsync(store, layout, keepData, cancellationToken).ConfigureAwait(false);
        var leftovers = await store.RemoveLeftoversAsync(cancellationToken).ConfigureAwait(false);
        return cleanup with { LeftoverFiles = leftovers.Files, LeftoverBytes = leftovers.Bytes };
    }

    /// <summary>True when <paramref name="lease"/> is held by a driver now.</summary>
    internal static bool IsLive(LeaseRecord? lease, TimeProvider time) =>
        lease is not null && lease.ExpiresAt > time.GetUtcNow() && !RunLease.IsDeadHolderOnThisMachine(lease.Holder);

    private static string State(bool hasPlan, RunSummary? summary, LeaseRecord? lease, TimeProvider time) =>
        IsLive(lease, time) ? Running
        : summary is not null ? summary.Status
        : hasPlan ? Interrupted
        : "incomplete";

    private static RunLeaseInfo? Info(LeaseRecord? lease, TimeProvider time) =>
        lease is null ? null : new RunLeaseInfo(lease.Holder, lease.ExpiresAt, IsLive(lease, time));

    private static async Task<RunSummary?> ReadSummaryAsync(IObjectStore store, RunLayout layout, CancellationToken cancellationToken)
    {
        try
        {
            return RunRecords.DeserializeSummary(await store.ReadAllBytesAsync(layout.SummaryKey, cancellationToken).ConfigureAwait(false));
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private sealed class RunFiles
    {
        public bool Plan;
        public bool Summary;
        public bool Lease;
        public int DataObjects;
        public long DataBytes;
    }
}

/// <summary>One run as <c>runs</c> lists it.</summary>
/// <param name="RunId">The run's id.</param>
/// <param name="Job">The job's name, when the run's plan or summary says it.</param>
/// <param name="State">
/// <see cref="RunCatalog.Running"/> (a driver holds its lease), <c>succeeded</c>, <c>failed</c>, <c>cancelled</c> (its
/// summary's status), <see cref="RunCatalog.Interrupted"/> (a plan, no summary, no live lease: its driver died), or
/// <c>incomplete</c> (records without a plan).
/// </param>
/// <param name="Summary">The run's last summary, if it has one.</param>
/// <param name="Lease">Who holds (or last held) the run's lease.</param>
/// <param name="IntermediateObjects">Intermediate objects the run has left in the store.</param>
/// <param name="IntermediateBytes">Their bytes.</param>
public sealed record RunListing(string RunId, string? Job, string State, RunSummary? Summary, RunLeaseInfo? Lease, int IntermediateObjects, long IntermediateBytes);

/// <summary>One run in detail, as <c>status</c> shows it.</summary>
/// <param name="Run">The run as <c>runs</c> lists it.</param>
/// <param name="CreatedAt">When the run was planned.</param>
/// <param name="DataflowVersion">The Dataflow build that planned it.</param>
/// <param name="InputCount">The job's input objects.</param>
/// <param name="TaskCount">Tasks in all stages.</param>
/// <param name="Stages">Each stage's progress.</param>
public sealed record RunStatus(RunListing Run, DateTimeOffset CreatedAt, string DataflowVersion, int InputCount, int TaskCount, IReadOnlyList<StageStatus> Stages);

/// <summary>How far a stage of a run got.</summary>
/// <param name="Name">The stage's name.</param>
/// <param name="Tasks">Its tasks.</param>
/// <param name="Committed">Those that committed.</param>
public sealed record StageStatus(string Name, int Tasks, int Committed);

/// <summary>Who holds a run's lease, and until when.</summary>
/// <param name="Holder">The driver: its host, process id and a random id.</param>
/// <param name="ExpiresAt">When the lease lapses unless renewed.</param>
/// <param name="IsLive">True when the holder drives the run now (the lease has not lapsed, and the holder is not a dead process on this machine).</param>
public sealed record RunLeaseInfo(string Holder, DateTimeOffset ExpiresAt, bool IsLive);

/// <summary>What <see cref="RunCatalog.CleanAsync"/> did.</summary>
/// <param name="UploadsAborted">Incomplete multipart uploads aborted.</param>
/// <param name="ObjectsDeleted">Intermediate objects deleted.</param>
/// <param name="ObjectsLeft">Intermediate objects left (all of them with <c>keepData</c>).</param>
public sealed record RunCleanup(int UploadsAborted, int ObjectsDeleted, int ObjectsLeft)
{
    /// <summary>Temporary files that writers which died had left in the store (any run's: the store does not know runs).</summary>
    public int LeftoverFiles { get; init; }

    /// <summary>Their bytes.</summary>
    public long LeftoverBytes { get; init; }
}
