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
    /// True when the commit callback stores the attempt's marker with one write of its own, in the attempt's flow (a
    /// worker's own commit record): the marker's request counts then include that write, counted in advance.
    /// </summary>
    public bool CountsCommitWrite { get; init; }

    /// <summary>What the last attempt that ended used, the requests of its commit and clean-up included.</summary>
    public ResourceUse? LastResources { get; private set; }

    /// <summary>What the attempt measured with <paramref name="meter"/> and counted in <paramref name="requests"/> used so far.</summary>
    private static ResourceUse Measure(ProcessMeter? meter, StoreRequestCounts requests) =>
        meter?.Stop(requests) ?? new ResourceUse { Requests = requests.Snapshot() };

    /// <summary>What the marker says the attempt used: so far, and the marker's own write when <see cref="CountsCommitWrite"/>.</summary>
    private ResourceUse MarkerResources(ProcessMeter? meter, StoreRequestCounts requests)
    {
        var use = Measure(meter, requests);
        if (CountsCommitWrite)
        {
            use.Requests!.Count(StoreRequestKind.Put);
        }

        return use;
    }

    /// <summary>What the attempt used in the end, kept as <see cref="LastResources"/>.</summary>
    private ResourceUse Ended(ProcessMeter? meter, StoreRequestCounts requests) => LastResources = Measure(meter, requests);
}
