using Dataflow.Core;
using Dataflow.Planner;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>What a store knows about its runs: for <c>runs</c>, <c>status</c> and <c>gc</c>.</summary>
internal static class RunCatalog
{
    /// <summary>State of a run whose driver holds its lease now.</summary>
    public const string Running = "running";

    /// <summary>State of a run with a plan but neither a summary nor a live lease: its driver was killed.</summary>
    public const string Interrupted = "interrupted";

    /// <summary>Every run in the store, by run id (ordinal).</summary>
    public static async Task<IReadOnlyList<RunListing>> ListAsync(IObjectStore store, TimeProvider time, CancellationToken cancellationToken)
    {
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

            listings.Add(new RunListing(id, job, State(files.Plan, summary, lease, time), summary, lease, files.DataObjects, files.DataBytes));
        }

        return listings;
    }

    /// <summary>The state of one run, with its stages' progress; <see langword="null"/> when the store has no such run.</summary>
    public static async Task<RunStatus?> GetStatusAsync(IObjectStore store, string runId, TimeProvider time, CancellationToken cancellationToken)
    {
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
            new RunListing(runId, plan.Job, State(true, summary, lease, time), summary, lease, objects, bytes),
            plan,
            stages);
    }

    /// <summary>True when <paramref name="lease"/> is held by a driver now.</summary>
    public static bool IsLive(LeaseRecord? lease, TimeProvider time) =>
        lease is not null && lease.ExpiresAt > time.GetUtcNow() && !RunLease.IsDeadHolderOnThisMachine(lease.Holder);

    private static string State(bool hasPlan, RunSummary? summary, LeaseRecord? lease, TimeProvider time) =>
        IsLive(lease, time) ? Running
        : summary is not null ? summary.Status
        : hasPlan ? Interrupted
        : "incomplete";

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
internal sealed record RunListing(string RunId, string? Job, string State, RunSummary? Summary, LeaseRecord? Lease, int IntermediateObjects, long IntermediateBytes);

/// <summary>One run in detail, as <c>status</c> shows it.</summary>
internal sealed record RunStatus(RunListing Run, PlanIndex Plan, IReadOnlyList<StageStatus> Stages);

/// <summary>How far a stage of a run got.</summary>
internal sealed record StageStatus(string Name, int Tasks, int Committed);
