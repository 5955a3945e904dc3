using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>What each attempt uses: its store requests always, its process's CPU and peak memory where it has the process to itself.</summary>
internal sealed partial class TaskRunner
{
    /// <summary>
    /// True when this runner's attempts have their process to themselves, one at a time (a pooled worker, a pod's
    /// worker running one task at once): each attempt then measures the process's CPU time and peak memory.
    /// </summary>
    public bool MeasuresProcess { get; init; }

    /// <summary>
    /// True for a worker's runner, whose commit callback stores the attempt's marker as a record of its own, one write
    /// in the attempt's flow: the marker then carries what the attempt used (a driver that reads it has no other account
    /// of it), that write counted in advance. A driver's runner records its attempts itself and keeps its markers small.
    /// </summary>
    public bool CommitsOwnRecord { get; init; }

    /// <summary>What the last attempt that ended used, the requests of its commit and clean-up included.</summary>
    public ResourceUse? LastResources { get; private set; }

    /// <summary>What the marker says the attempt used (see <see cref="CommitsOwnRecord"/>): so far, and the marker's own write.</summary>
    private ResourceUse? MarkerResources(ProcessMeter? meter, StoreRequestCounts requests)
    {
        if (!CommitsOwnRecord)
        {
            return null;
        }

        var use = ProcessMeter.Measure(meter, requests);
        use.Requests!.Count(StoreRequestKind.Put);
        return use;
    }

    /// <summary>What the attempt used in the end, kept as <see cref="LastResources"/>.</summary>
    private ResourceUse Ended(ProcessMeter? meter, StoreRequestCounts requests) => LastResources = ProcessMeter.Measure(meter, requests);
}
