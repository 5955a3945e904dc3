using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>A pooled worker's report of what a task used.</summary>
public static partial class TaskWorker
{
    /// <summary>
    /// <paramref name="report"/> with the requests the worker made for its task outside the attempt added to the
    /// attempt's: the driver counts them with the attempt, as they were made for it (its commit marker does not).
    /// </summary>
    internal static WorkerReport WithRequestsOutsideTheAttempt(WorkerReport report, StoreRequestCounts outside)
    {
        if (outside.Total == 0)
        {
            return report;
        }

        var use = report.Resources ?? new ResourceUse();
        var requests = use.Requests?.Snapshot() ?? new StoreRequestCounts();
        requests.Add(outside);
        return report with { Resources = use with { Requests = requests } };
    }
}
