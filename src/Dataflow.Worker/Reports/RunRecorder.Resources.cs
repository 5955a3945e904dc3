using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>What the run used: its attempts' figures, added up per stage as they are recorded, and the driver's own.</summary>
internal sealed partial class RunRecorder
{
    private ProcessMeter? _driver;

    /// <summary>The requests the driver makes outside attempts: current in the driver's flow from the run's start (see <see cref="MeasureDriver"/>).</summary>
    public StoreRequestCounts DriverRequests { get; } = new();

    /// <summary>
    /// Starts measuring the driver: its process's CPU time and peak memory from now (the peak is reset), and its
    /// requests, in the scope returned, which the driver holds for the whole run.
    /// </summary>
    public StoreRequests.Scope MeasureDriver()
    {
        _driver = ProcessMeter.Start();
        return StoreRequests.Begin(DriverRequests);
    }

    /// <summary>The run's totals so far: every recorded attempt's (omitted ones included) and the driver's.</summary>
    public RunResources Resources()
    {
        var driver = ProcessMeter.Measure(_driver, DriverRequests);
        lock (_gate)
        {
            return ResourceTotals.ForRun(_stages.Select(s => s.Resources.Total()), driver);
        }
    }
}
