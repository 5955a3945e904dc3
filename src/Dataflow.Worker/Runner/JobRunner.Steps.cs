using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>The steps of a run around its tasks: the task cache before them, publishing after.</summary>
public sealed partial class JobRunner
{
    /// <summary>
    /// The task cache of a run that uses it: its keys (computed and stored, or read back on resume), and the tasks found
    /// in it, stored as commits of the run and added to <paramref name="committed"/>, so that they count as done.
    /// </summary>
    private async Task<RunCache> OpenCacheAsync(Job job, Plan plan, bool resume, Dictionary<TaskId, CommitMarker> committed, RunLease lease, RunProgress progress, CancellationToken cancellationToken)
    {
        progress.SetPhase(RunPhases.CheckingCache);
        var cache = await RunCache.OpenAsync(_store, plan, job, resume, _options.CacheHashesInputs, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        var lookup = await cache.LookupAsync(committed, cancellationToken).ConfigureAwait(false);
        var hits = lookup.Hits;
        if (hits.Count > 0 || lookup.NotNeeded.Count > 0)
        {
            await lease.ConfirmAsync(cancellationToken).ConfigureAwait(false);
            await cache.StoreHitsAsync(hits, cancellationToken).ConfigureAwait(false);
            await cache.StoreNotNeededAsync(lookup.NotNeeded, cancellationToken).ConfigureAwait(false);
            foreach (var (id, marker) in hits)
            {
                committed[id] = marker;
            }
        }

        Log.CacheChecked(_logger, cache.Keys.Count, cache.Lookups, hits.Count, cache.EntriesInvalid);
        return cache;
    }

    /// <summary>
    /// Publishes the final outputs; a final output whose committed object went missing or changed is made again first
    /// (its commit set aside, its task run again) — each lost object twice at most, however many final outputs were lost
    /// (after <c>gc</c> of a run killed before publishing, all of them are).
    /// </summary>
    private static async Task PublishAsync(RunSession session, TaskExecution execution, CancellationToken cancellationToken)
    {
        var repaired = new Dictionary<string, int>(StringComparer.Ordinal);
        while (true)
        {
            try
            {
                await session.PublishAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (InputLostException lost) when ((repaired[lost.ObjectKey] = repaired.GetValueOrDefault(lost.ObjectKey) + 1) <= 2)
            {
                if (!await execution.RepairAsync(lost, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }
            }
        }
    }
}
