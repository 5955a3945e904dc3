namespace Dataflow.Worker;

/// <summary>Who holds a run's lease, and until when.</summary>
/// <param name="Holder">The driver: its host, process id and a random id.</param>
/// <param name="ExpiresAt">When the lease lapses unless renewed.</param>
/// <param name="IsLive">True when the holder drives the run now (the lease has not lapsed, and the holder is not a dead process on this machine).</param>
public sealed record RunLeaseInfo(string Holder, DateTimeOffset ExpiresAt, bool IsLive)
{
    /// <summary>The Argo Workflow the holder follows and holds the lease for, if any.</summary>
    public string? Workflow { get; init; }

    /// <summary>
    /// A request to cancel the run, addressed to this live holder, that it has not acted on yet (it looks every 2 s;
    /// see <see cref="RunCatalog.RequestCancelAsync"/>); <see langword="null"/> when there is none.
    /// </summary>
    public RunCancelRequest? CancelRequest { get; init; }
}
