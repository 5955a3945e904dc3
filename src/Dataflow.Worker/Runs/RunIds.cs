namespace Dataflow.Worker;

/// <summary>Run ids: what makes one, and where a run's records are in its store.</summary>
public static class RunIds
{
    /// <summary>A new run id: the UTC time to the second and six random hex digits, e.g. <c>20261129-024455-3fa2c1</c>.</summary>
    public static string New(TimeProvider? timeProvider = null) => RunLayout.NewRunId(timeProvider);

    /// <summary>True when <paramref name="runId"/> is 1–64 ASCII letters, digits, '-' or '_'.</summary>
    public static bool IsValid(string? runId) => RunLayout.IsValidRunId(runId);

    /// <summary>The key prefix under which run <paramref name="runId"/> keeps its records and intermediate data.</summary>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public static string RecordsPrefix(string runId) => new RunLayout(runId).Root;
}
