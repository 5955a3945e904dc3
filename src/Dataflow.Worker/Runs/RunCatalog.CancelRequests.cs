using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>Cancelling a run from outside its driver: a request its driver finds through the store.</summary>
public static partial class RunCatalog
{
    /// <summary>
    /// Asks the driver of run <paramref name="runId"/> — whichever process or machine holds its lease: a local run, one
    /// with worker processes, Kubernetes or Argo — to cancel it, as Ctrl+C in that driver would: it notices within
    /// about 2 s (<see cref="RunLease.CancelPollInterval"/>), stops its tasks (its Kubernetes Jobs or Argo Workflow are
    /// deleted), keeps what committed, and stores a summary with status <c>cancelled</c> whose error names
    /// <paramref name="requestedBy"/>, the time and <paramref name="reason"/>. The run can be resumed afterwards: the
    /// request is addressed to that driver only.
    /// </summary>
    /// <param name="store">The run's store.</param>
    /// <param name="runId">The run.</param>
    /// <param name="requestedBy">Who asks, in words a person reads in the summary, e.g. <c>ui on host/pid</c>.</param>
    /// <param name="reason">Why, if you say; shown in the summary too.</param>
    /// <param name="time">The clock a lease's expiry is judged by and the request is dated by; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="cancellationToken">Stops the request.</param>
    /// <returns>The request the driver will find; <see cref="RunCancelRequest.AlreadyRequested"/> when it had been asked already.</returns>
    /// <exception cref="RunNotRunningException">No driver holds the run's lease now: it ended, its driver died, or there is no such run.</exception>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id, or <paramref name="requestedBy"/> is empty.</exception>
    /// <remarks>
    /// A driver that ends just as the request is made leaves it unanswered: the run then shows the state its driver
    /// gave it. A driver of an earlier version of Dataflow does not look for requests.
    /// </remarks>
    public static async Task<RunCancelRequest> RequestCancelAsync(IObjectStore store, string runId, string requestedBy, string? reason = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(requestedBy);
        var layout = new RunLayout(runId);
        time ??= TimeProvider.System;
        var lease = await RunLease.ReadAsync(store, layout, cancellationToken).ConfigureAwait(false);
        if (lease is null || !IsLive(lease, time))
        {
            var state = (await GetListingAsync(store, runId, time, cancellationToken).ConfigureAwait(false))?.State;
            throw new RunNotRunningException(runId, state, store.Location);
        }

        // A request this driver has had already stands (it is being acted on): asking twice changes nothing.
        if (await RunLease.ReadCancelRequestAsync(store, layout, cancellationToken).ConfigureAwait(false) is { } earlier
            && string.Equals(earlier.Holder, lease.Holder, StringComparison.Ordinal))
        {
            return new RunCancelRequest(runId, earlier.Holder, earlier.RequestedBy, earlier.RequestedAt, earlier.Reason) { AlreadyRequested = true, Workflow = lease.Workflow };
        }

        var request = new CancelRequestRecord(CancelRequestRecord.CurrentSchemaVersion, lease.Holder, requestedBy, time.GetUtcNow().ToUniversalTime(), reason);
        await store.PutAsync(layout.CancelRequestKey, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request, LeaseJsonContext.Default.CancelRequestRecord), cancellationToken).ConfigureAwait(false);
        return new RunCancelRequest(runId, request.Holder, request.RequestedBy, request.RequestedAt, request.Reason) { Workflow = lease.Workflow };
    }

    /// <summary>Run <paramref name="runId"/> as <see cref="ListAsync"/> lists it, or <see langword="null"/> when the store holds nothing of it.</summary>
    private static async Task<RunListing?> GetListingAsync(IObjectStore store, string runId, TimeProvider time, CancellationToken cancellationToken)
    {
        var files = await ListFilesAsync(store, new RunLayout(runId), cancellationToken).ConfigureAwait(false);
        return files.IsEmpty ? null : (await DescribeAsync(store, runId, files, time, cancellationToken).ConfigureAwait(false)).Listing;
    }
}
