using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The clean-up at the end of a run and after one: what the <see cref="ArtifactCollector"/> did not delete while the
/// run went on. At the end of a run, objects under the run's data prefix that no committed attempt holds (a killed
/// attempt's, a duplicate's that lost) are deleted; after a run (<c>gc</c>, an Argo run's exit handler) all of its
/// intermediate data is. Either way the run's incomplete multipart uploads are aborted.
/// </summary>
internal static class Sweeper
{
    /// <summary>
    /// Aborts the multipart uploads of the run that never completed (a writer that died, an abort that failed), found
    /// through the store's upload journal. Best effort: what cannot be aborted now stays in the journal for
    /// <c>gc</c>, and must neither fail a run whose output is published nor hide a failed run's own error.
    /// </summary>
    public static async Task AbortIncompleteUploadsAsync(IObjectStore store, RunLayout layout)
    {
        try
        {
            await store.AbortIncompleteUploadsAsync(layout.Root, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectStoreException)
        {
        }
    }

    /// <summary>
    /// Aborts the run's incomplete multipart uploads (found through the store's upload journal) and, unless
    /// <paramref name="keepData"/>, deletes its intermediate data.
    /// </summary>
    public static async Task<RunCleanup> CleanAsync(IObjectStore store, RunLayout layout, bool keepData, CancellationToken cancellationToken)
    {
        var aborted = await store.AbortIncompleteUploadsAsync(layout.Root, cancellationToken).ConfigureAwait(false);
        var keys = (await store.ListAllAsync(layout.DataPrefix, cancellationToken).ConfigureAwait(false)).ConvertAll(i => i.Key);
        if (keepData)
        {
            return new RunCleanup(aborted, 0, keys.Count);
        }

        var deleted = 0;
        for (var i = 0; i < keys.Count; i += ArtifactCollector.BatchSize)
        {
            deleted += await store.DeleteAsync(keys.GetRange(i, Math.Min(ArtifactCollector.BatchSize, keys.Count - i)), cancellationToken).ConfigureAwait(false);
        }

        return new RunCleanup(aborted, deleted, keys.Count - deleted);
    }

    /// <summary>
    /// Deletes the run's intermediate objects that no committed artifact holds — outputs of attempts that never
    /// committed (a worker killed mid-task, a duplicate that lost) — unless <paramref name="sweep"/> is false (GC is off,
    /// or another driver owns the run) — and returns how many intermediate objects are left.
    /// </summary>
    /// <remarks>
    /// A run that stopped early may have commits it never took in: a worker process that committed as the run was
    /// cancelled or failed (killed before it exited, or before its commit record was read). A resume replays those
    /// markers, so their objects stay too.
    /// </remarks>
    public static async Task<int> SweepAsync(IObjectStore store, RunLayout layout, RunSession session, ArtifactCollector collector, bool sweep, bool succeeded)
    {
        var left = 0;
        var orphans = new List<string>();
        try
        {
            var late = sweep && !succeeded ? await FindLateCommitsAsync(store, layout, session).ConfigureAwait(false) : [];
            sweep &= late is not null;
            await foreach (var info in store.ListAsync(layout.DataPrefix, CancellationToken.None).ConfigureAwait(false))
            {
                if (sweep && collector.IsCollectable(info.Key) && !collector.IsHeld(info.Key) && !late!.Contains(info.Key))
                {
                    orphans.Add(info.Key);
                }
                else
                {
                    left++;
                }
            }

            for (var i = 0; i < orphans.Count; i += ArtifactCollector.BatchSize)
            {
                await store.DeleteAsync(orphans.GetRange(i, Math.Min(ArtifactCollector.BatchSize, orphans.Count - i)), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (ObjectStoreException)
        {
            // Best effort, like the collector: what stays is counted, and `gc` deletes it later.
            return left + orphans.Count;
        }

        return left;
    }

    /// <summary>
    /// The objects of the winning commits in the run's records that this driver did not take in; <see langword="null"/>
    /// when the records cannot be read (then nothing may be swept).
    /// </summary>
    private static async Task<HashSet<string>?> FindLateCommitsAsync(IObjectStore store, RunLayout layout, RunSession session)
    {
        Dictionary<TaskId, CommitMarker> winners;
        try
        {
            winners = await CommitIndex.LoadAllAsync(store, layout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectStoreException or InvalidDataException)
        {
            return null;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (task, marker) in winners)
        {
            var known = task.Stage < session.Plan.Stages.Count && task.Index < session.Plan.Stages[task.Stage].Tasks.Count
                ? session.CommittedMarker(task)
                : null;
            if (known?.AttemptId != marker.AttemptId)
            {
                keys.UnionWith(marker.Outputs.SelectMany(o => o.AsSegments()).Select(s => s.Key));
            }
        }

        return keys;
    }
}
