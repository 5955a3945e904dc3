using System.Globalization;

namespace Dataflow.Worker;

/// <summary>
/// A request to cancel a run, as stored in its <c>cancel-request.json</c>: addressed to the driver that held the run's
/// lease when it was made, which cancels its run when it finds it (see <see cref="RunLease.WatchForCancelRequests"/>).
/// </summary>
/// <param name="SchemaVersion">The record's schema version (<see cref="CurrentSchemaVersion"/>).</param>
/// <param name="Holder">The driver it is addressed to: its lease's holder. Another driver of the run ignores it.</param>
/// <param name="RequestedBy">Who asked, in their own words (e.g. <c>ui on host/pid</c>).</param>
/// <param name="RequestedAt">When, on the requester's clock (UTC).</param>
/// <param name="Reason">Why, if they said.</param>
internal sealed record CancelRequestRecord(int SchemaVersion, string Holder, string RequestedBy, DateTimeOffset RequestedAt, string? Reason)
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>What the summary of the run it cancelled says: who asked, when, and why.</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"cancelled on request of {RequestedBy} at {RequestedAt.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z{(Reason is { Length: > 0 } why ? $": {why}" : string.Empty)}");
}

/// <summary>What <see cref="RunCatalog.RequestCancelAsync"/> did: the request the run's driver will find.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Driver">The driver asked to cancel it: the holder of its lease (host, process id and a random id).</param>
/// <param name="RequestedBy">Who asked.</param>
/// <param name="RequestedAt">When (UTC).</param>
/// <param name="Reason">Why, if given.</param>
public sealed record RunCancelRequest(string RunId, string Driver, string RequestedBy, DateTimeOffset RequestedAt, string? Reason)
{
    /// <summary>
    /// True when this driver had been asked already, and that earlier request (the one this describes) stands: the run
    /// is being cancelled, on that request.
    /// </summary>
    public bool AlreadyRequested { get; init; }

    /// <summary>The Argo Workflow the driver follows, if it drives one: cancelling deletes the workflow.</summary>
    public string? Workflow { get; init; }
}

/// <summary>A run cannot be cancelled: no driver runs it now (it ended, its driver died, or there is no such run).</summary>
public sealed class RunNotRunningException : InvalidOperationException
{
    /// <summary>Creates the exception for run <paramref name="runId"/>, in state <paramref name="state"/> (<see langword="null"/> when the store holds no such run).</summary>
    public RunNotRunningException(string runId, string? state, string store)
        : base(state is null
            ? $"run '{runId}' cannot be cancelled: {store} holds no such run"
            : $"run '{runId}' cannot be cancelled: it is not running (it is {state}){(state == RunCatalog.Interrupted ? "; its driver is gone" : string.Empty)}")
    {
        RunId = runId;
        State = state;
    }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>Its state as <c>runs</c> lists it (<see cref="RunListing.State"/>), or <see langword="null"/> when there is no such run.</summary>
    public string? State { get; }
}
