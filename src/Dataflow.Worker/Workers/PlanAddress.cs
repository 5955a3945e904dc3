using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The address of a run's plan, <c>&lt;store&gt;/_dataflow/runs/&lt;run-id&gt;/plan.json</c>: all a worker is given
/// to find the store, the run and the plan.
/// </summary>
public static class PlanAddress
{
    private const string Suffix = "/plan.json";

    /// <summary>The address of run <paramref name="runId"/>'s plan in <paramref name="store"/>: what a worker process or pod is given.</summary>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public static string Format(IObjectStore store, string runId)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.GetUri(new RunLayout(runId).PlanKey);
    }

    /// <summary>Splits a plan's address into the store's location and the run id.</summary>
    /// <exception cref="ArgumentException">The address does not end in <c>_dataflow/runs/&lt;run-id&gt;/plan.json</c>.</exception>
    public static (string StoreLocation, string RunId) Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var runs = address.LastIndexOf(RunLayout.RunsPrefix, StringComparison.Ordinal);
        if (runs < 0 || !address.EndsWith(Suffix, StringComparison.Ordinal) || (runs > 0 && address[runs - 1] != '/'))
        {
            throw new ArgumentException($"'{address}' is not the address of a plan: expected <store>/{RunLayout.RunsPrefix}<run-id>/plan.json", nameof(address));
        }

        var runStart = runs + RunLayout.RunsPrefix.Length;
        // "<store>/_dataflow/runs/plan.json" has no run id: its "runs/" and "/plan.json" share the slash.
        var runId = runStart <= address.Length - Suffix.Length ? address[runStart..^Suffix.Length] : string.Empty;
        if (!RunLayout.IsValidRunId(runId))
        {
            throw new ArgumentException($"'{address}' is not the address of a plan: '{runId}' is not a run id", nameof(address));
        }

        var store = address[..runs];
        return (store.Length == 0 ? "." : store, runId);
    }
}
