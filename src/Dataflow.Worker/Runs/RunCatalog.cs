using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The runs a store holds and their state, and the clean-up of a run that failed, crashed or was abandoned: what the
/// <c>runs</c>, <c>status</c> and <c>gc</c> commands show and do, for any host — and how a program finds, from code,
/// a run to resume (<see cref="ListAsync"/>, <see cref="GetStatusAsync"/>).
/// </summary>
/// <example>
/// <code>
/// foreach (var run in await RunCatalog.ListAsync(store))
/// {
///     if (run.State is RunCatalog.Interrupted or "failed" or "cancelled")
///     {
///         var status = await RunCatalog.GetStatusAsync(store, run.RunId);
///         await new JobRunner(store, options).ResumeAsync(DefineJob(status!.Arguments!), run.RunId);
///     }
/// }
/// </code>
/// </example>
public static partial class RunCatalog
{
    /// <summary>State of a run whose driver holds its lease now.</summary>
    public const string Running = "running";

    /// <summary>State of a run whose driver died (its lease is left behind), or with a plan and no summary: resume it.</summary>
    public const string Interrupted = "interrupted";

    /// <summary>State of a run without a plan (its driver died while planning), or whose records cannot be read; <see cref="RunListing.Damage"/> says which.</summary>
    public const string Damaged = "damaged";

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

            files.Add(new RunLayout(id), info);
        }

        var listings = new List<RunListing>(runs.Count);
        foreach (var (id, files) in runs)
        {
            listings.Add((await DescribeAsync(store, id, files, time, cancellationToken).ConfigureAwait(false)).Listing);
        }

        return listings;
    }

    /// <summary>
    /// The state of one run, with its stages' progress — the same state <see cref="ListAsync"/> gives it; a damaged
    /// run (no plan, or records that cannot be read) is described too. <see langword="null"/> when the store holds
    /// nothing of the run.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="time">The clock a lease's expiry is judged by; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="cancellationToken">Stops the reads.</param>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public static async Task<RunStatus?> GetStatusAsync(IObjectStore store, string runId, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var files = await ListFilesAsync(store, new RunLayout(runId), cancellationToken).ConfigureAwait(false);
        if (files.IsEmpty)
        {
            return null;
        }

        var (listing, plan, committed, notNeeded) = await DescribeAsync(store, runId, files, time ?? TimeProvider.System, cancellationToken, stages: true).ConfigureAwait(false);
        // Tasks a run with the cache passed over (only cached tasks read them) count as done by the cache.
        var stages = plan?.Stages.Select((stage, i) => new StageStatus(stage.Name, stage.Tasks, (committed?.Keys.Count(t => t.Stage == i) ?? 0) + notNeeded.Count(t => t.Stage == i))
        {
            Cached = (committed?.Count(c => c.Key.Stage == i && c.Value.CachedFrom is not null) ?? 0) + notNeeded.Count(t => t.Stage == i),
        }).ToList() ?? [];
        return new RunStatus(listing, plan?.CreatedAt, plan?.DataflowVersion, plan?.InputCount, plan?.TaskCount, stages) { Arguments = plan?.Arguments };
    }

    /// <summary>
    /// <paramref name="runs"/> as a JSON array of <see cref="RunListing.ToJson"/> objects: what the <c>runs --json</c>
    /// command prints.
    /// </summary>
    /// <param name="runs">Runs, e.g. from <see cref="ListAsync"/>.</param>
    /// <param name="indented">Indent for people to read.</param>
    public static string ToJson(IEnumerable<RunListing> runs, bool indented = false)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return RunListingJson.Write(
            writer =>
            {
                writer.WriteStartArray();
                foreach (var run in runs)
                {
                    RunListingJson.WriteListing(writer, run);
                }

                writer.WriteEndArray();
            },
            indented);
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
            throw new RunLeaseException(runId, lease.Holder, lease.ExpiresAt, lease.Workflow);
        }

        var cleanup = await Sweeper.CleanAsync(store, layout, keepData, cancellationToken).ConfigureAwait(false);
        var leftovers = await store.RemoveLeftoversAsync(cancellationToken).ConfigureAwait(false);
        return cleanup with { LeftoverFiles = leftovers.Files, LeftoverBytes = leftovers.Bytes };
    }

    /// <summary>What the store holds of one run, from a listing of its prefix.</summary>
    private static async Task<RunFiles> ListFilesAsync(IObjectStore store, RunLayout layout, CancellationToken cancellationToken)
    {
        var files = new RunFiles();
        await foreach (var info in store.ListAsync(layout.Root, cancellationToken).ConfigureAwait(false))
        {
            files.Add(layout, info);
        }

        return files;
    }

    /// <summary>
    /// A run's state from its records, for <c>runs</c>, <c>status</c> and live views alike: <see cref="Running"/> while a
    /// driver holds its lease; <see cref="Damaged"/> when a record says so; <see cref="Interrupted"/> when its driver
    /// died holding the lease or it has no summary; its summary's status otherwise.
    /// </summary>
    internal static string StateOf(LeaseRecord? lease, string? damage, RunSummary? summary, TimeProvider time) =>
        IsLive(lease, time) ? Running
            : damage is not null ? Damaged
            : lease is not null ? Interrupted
            : summary?.Status ?? Interrupted;

    /// <summary>True when <paramref name="lease"/> is held by a driver now.</summary>
    internal static bool IsLive(LeaseRecord? lease, TimeProvider time) =>
        lease is not null && lease.ExpiresAt > time.GetUtcNow() && !RunLease.IsDeadHolderOnThisMachine(lease.Holder);

    /// <summary>
    /// What one run is, from its records — the one place its state is decided: <see cref="Running"/> while a driver
    /// holds its lease; <see cref="Interrupted"/> when a driver died holding it (a driver that ends deletes its lease)
    /// or when it has a plan and no summary; the summary's status otherwise; <see cref="Damaged"/> when it has no plan,
    /// or a record cannot be read (<see cref="RunListing.Damage"/> says which).
    /// </summary>
    private static async Task<(RunListing Listing, PlanIndex? Plan, Dictionary<TaskId, CommitMarker>? Committed, HashSet<TaskId> NotNeeded)> DescribeAsync(
        IObjectStore store, string id, RunFiles files, TimeProvider time, CancellationToken cancellationToken, bool stages = false)
    {
        var layout = new RunLayout(id);
        string? damage = null;
        PlanIndex? plan = null;
        if (files.Plan)
        {
            try
            {
                plan = await PlanStore.LoadIndexAsync(store, id, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                damage = $"its plan cannot be read: {ex.Message}";
            }
        }
        else
        {
            damage = "it has no plan: its driver stopped while planning; run it again with the same run id, or gc it";
        }

        RunSummary? summary = null;
        if (files.Summary)
        {
            try
            {
                summary = await ReadSummaryAsync(store, layout, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                damage ??= $"its summary cannot be read: {ex.Message}";
            }
        }

        var lease = files.Lease ? await RunLease.ReadAsync(store, layout, cancellationToken).ConfigureAwait(false) : null;

        // A request to cancel the run that its driver has not acted on yet (addressed to the lease's live holder).
        var cancelRequest = files.CancelRequest && IsLive(lease, time)
            && await RunLease.ReadCancelRequestAsync(store, layout, cancellationToken).ConfigureAwait(false) is { } request
            && string.Equals(request.Holder, lease!.Holder, StringComparison.Ordinal)
                ? new RunCancelRequest(id, request.Holder, request.RequestedBy, request.RequestedAt, request.Reason) { Workflow = lease.Workflow }
                : null;
        var state = StateOf(lease, damage, summary, time);

        // How far it got: every committed task, unless its summary says all of it.
        Dictionary<TaskId, CommitMarker>? committed = null;
        if (plan is not null && (stages || state != "succeeded"))
        {
            try
            {
                committed = await CommitIndex.LoadAllAsync(store, layout, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                damage ??= $"a commit record cannot be read: {ex.Message}";
                state = IsLive(lease, time) ? Running : Damaged;
            }
        }

        // Tasks a run with the cache passed over (only cached tasks read them) are done too.
        var notNeeded = committed is not null && plan is { Cache: not CacheMode.Off }
            ? await TaskRanges.ReadNotNeededAsync(store, layout, cancellationToken).ConfigureAwait(false)
            : [];
        var listing = new RunListing(id, summary?.Job ?? plan?.Job, state, summary, Info(lease, time, cancelRequest), files.DataObjects, files.DataBytes)
        {
            Tasks = plan?.TaskCount ?? summary?.Tasks,
            TasksCommitted = committed?.Count + notNeeded.Count ?? (state == "succeeded" ? summary?.Tasks : null),
            Damage = damage,
            CreatedAt = plan?.CreatedAt,
        };
        return (listing, plan, committed, notNeeded);
    }

    private static RunLeaseInfo? Info(LeaseRecord? lease, TimeProvider time, RunCancelRequest? cancelRequest) =>
        lease is null ? null : new RunLeaseInfo(lease.Holder, lease.ExpiresAt, IsLive(lease, time)) { Workflow = lease.Workflow, CancelRequest = cancelRequest };

    /// <summary>The run's summary, or <see langword="null"/> when it has none.</summary>
    /// <exception cref="InvalidDataException">The summary cannot be read.</exception>
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
    }

    /// <summary>Which of a run's records exist, and its intermediate data, from a listing.</summary>
    private sealed class RunFiles
    {
        public bool Plan;
        public bool Summary;
        public bool Lease;
        public bool CancelRequest;
        public bool Other;
        public int DataObjects;
        public long DataBytes;

        public bool IsEmpty => !Plan && !Summary && !Lease && !Other && DataObjects == 0;

        public void Add(RunLayout layout, ObjectInfo info)
        {
            if (info.Key == layout.PlanKey)
            {
                Plan = true;
            }
            else if (info.Key == layout.SummaryKey)
            {
                Summary = true;
            }
            else if (info.Key == layout.LeaseKey)
            {
                Lease = true;
            }
            else if (info.Key.StartsWith(layout.DataPrefix, StringComparison.Ordinal))
            {
                DataObjects++;
                DataBytes += info.Size;
            }
            else
            {
                // Records: commits, the report, failure records, a cancel request.
                Other = true;
                CancelRequest |= info.Key == layout.CancelRequestKey;
            }
        }
    }
}

/// <summary>One run as <c>runs</c> lists it.</summary>
/// <param name="RunId">The run's id.</param>
/// <param name="Job">The job's name, when the run's plan or summary says it.</param>
/// <param name="State">
/// <see cref="RunCatalog.Running"/> (a driver holds its lease), <c>succeeded</c>, <c>failed</c>, <c>cancelled</c> (its
/// summary's status), <see cref="RunCatalog.Interrupted"/> (its driver died: resume it), or
/// <see cref="RunCatalog.Damaged"/> (no plan, or records that cannot be read; see <see cref="RunListing.Damage"/>).
/// </param>
/// <param name="Summary">The run's last summary, if it has one.</param>
/// <param name="Lease">Who holds (or last held) the run's lease.</param>
/// <param name="IntermediateObjects">Intermediate objects the run has left in the store.</param>
/// <param name="IntermediateBytes">Their bytes.</param>
public sealed record RunListing(string RunId, string? Job, string State, RunSummary? Summary, RunLeaseInfo? Lease, int IntermediateObjects, long IntermediateBytes)
{
    /// <summary>The run's tasks, when its plan or summary says.</summary>
    public int? Tasks { get; init; }

    /// <summary>Its tasks committed so far (all of them for a run that succeeded), when its records say.</summary>
    public int? TasksCommitted { get; init; }

    /// <summary>For a <see cref="RunCatalog.Damaged"/> run: what is wrong with it.</summary>
    public string? Damage { get; init; }

    /// <summary>When the run was planned, when its plan says.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>
    /// The run as one JSON object, as <c>runs --json</c> prints it: <c>runId</c>, <c>job</c>, <c>state</c>,
    /// <c>tasks</c>, <c>tasksCommitted</c>, <c>damage</c> (damaged runs only), <c>intermediateObjects</c>,
    /// <c>intermediateBytes</c>, <c>lease</c> (<c>holder</c>, <c>expiresAt</c>, <c>live</c>, <c>workflow</c>, and
    /// <c>cancelRequest</c> — <c>requestedBy</c>, <c>requestedAt</c>, <c>reason</c> — while a request to cancel the run
    /// waits for its driver) and <c>summary</c> (as <see cref="RunSummary.ToJson"/>), <c>null</c> where the run has none.
    /// </summary>
    /// <param name="indented">Indent for people to read.</param>
    public string ToJson(bool indented = false) => RunListingJson.Write(writer => RunListingJson.WriteListing(writer, this), indented);
}

/// <summary>One run in detail, as <c>status</c> shows it.</summary>
/// <param name="Run">The run as <c>runs</c> lists it.</param>
/// <param name="CreatedAt">When the run was planned (<see langword="null"/> for a damaged run without a readable plan, as the next three).</param>
/// <param name="DataflowVersion">The Dataflow build that planned it.</param>
/// <param name="InputCount">The job's input objects.</param>
/// <param name="TaskCount">Tasks in all stages.</param>
/// <param name="Stages">Each stage's progress.</param>
public sealed record RunStatus(RunListing Run, DateTimeOffset? CreatedAt, string? DataflowVersion, int? InputCount, int? TaskCount, IReadOnlyList<StageStatus> Stages)
{
    /// <summary>
    /// The arguments stored with the run (<see cref="JobRunnerOptions.Arguments"/>), from which its job is defined
    /// again to resume it; <see langword="null"/> when it was started without any, or has no readable plan.
    /// </summary>
    public IReadOnlyList<string>? Arguments { get; init; }

    /// <summary>
    /// The run as one JSON object, as <c>status --json</c> prints it: the properties of <see cref="RunListing.ToJson"/>,
    /// then <c>createdAt</c>, <c>dataflowVersion</c>, <c>inputs</c>, <c>arguments</c> and <c>stages</c> (each with
    /// <c>name</c>, <c>tasks</c> and <c>committed</c>).
    /// </summary>
    /// <param name="indented">Indent for people to read.</param>
    public string ToJson(bool indented = false) => RunListingJson.Write(writer => RunListingJson.WriteStatus(writer, this), indented);
}

/// <summary>How far a stage of a run got.</summary>
/// <param name="Name">The stage's name.</param>
/// <param name="Tasks">Its tasks.</param>
/// <param name="Committed">Those that committed (taken from the task cache included).</param>
public sealed record StageStatus(string Name, int Tasks, int Committed)
{
    /// <summary>Of the committed tasks, those taken from the task cache rather than run.</summary>
    public int Cached { get; init; }
}
