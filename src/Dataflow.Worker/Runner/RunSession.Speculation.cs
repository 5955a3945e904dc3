using Dataflow.Core;

namespace Dataflow.Worker;

internal sealed partial class RunSession
{
    /// <summary>
    /// Deletes the objects of the attempts of <paramref name="task"/> that committed but lost its race to
    /// <paramref name="winner"/> (see <see cref="WorkerRace"/>): nothing reads them, since every reader takes the
    /// winner. Only the objects each wrote itself, under its own attempt id, never those its references point into.
    /// </summary>
    public async ValueTask DiscardLosersAsync(TaskId task, string winner, CancellationToken cancellationToken)
    {
        var records = await CommitIndex.ReadTaskAsync(_store, Layout, task, cancellationToken).ConfigureAwait(false);
        foreach (var marker in records.SelectMany(r => r.Markers).Where(m => m.Task == task && m.AttemptId != winner).DistinctBy(m => m.AttemptId))
        {
            var own = Layout.OutputKey(task, marker.AttemptId, string.Empty);
            var keys = marker.Outputs.SelectMany(o => o.AsSegments()).Select(s => s.Key).Where(k => k.StartsWith(own, StringComparison.Ordinal)).ToList();
            await _collector.DiscardAsync(keys, cancellationToken).ConfigureAwait(false);
        }
    }
}
