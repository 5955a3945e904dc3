using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>Adds up <see cref="ResourceUse"/>s: CPU and requests summed, peak memory the largest. Not thread-safe.</summary>
internal sealed class ResourceTotals
{
    private readonly StoreRequestCounts _requests = new();
    private long? _user;
    private long? _system;
    private long? _peak;
    private bool _sinceStart;
    private bool _counted;

    public void Add(ResourceUse? use)
    {
        if (use is null)
        {
            return;
        }

        _user = Sum(_user, use.CpuUserMs);
        _system = Sum(_system, use.CpuSystemMs);
        _peak = use.PeakMemoryBytes is { } peak ? Math.Max(_peak ?? 0, peak) : _peak;
        _sinceStart |= use.PeakSinceProcessStart;
        if (use.Requests is { } requests)
        {
            _requests.Add(requests);
            _counted = true;
        }
    }

    /// <summary>The totals; <see langword="null"/> when nothing was added.</summary>
    public ResourceUse? Total() =>
        _user is null && _system is null && _peak is null && !_counted ? null
        : new ResourceUse { CpuUserMs = _user, CpuSystemMs = _system, PeakMemoryBytes = _peak, PeakSinceProcessStart = _sinceStart, Requests = _requests.Snapshot() };

    /// <summary>The run's totals: the attempts' (<paramref name="attempts"/>) and the driver's.</summary>
    public static RunResources ForRun(IEnumerable<ResourceUse?> attempts, ResourceUse? driver)
    {
        var totals = new ResourceTotals();
        foreach (var attempt in attempts)
        {
            totals.Add(attempt);
        }

        totals.Add(driver);
        return new RunResources
        {
            Total = totals.Total() ?? new ResourceUse { Requests = new StoreRequestCounts() },
            Driver = driver,
        };
    }

    private static long? Sum(long? a, long? b) => a is null ? b : b is null ? a : a + b;
}
