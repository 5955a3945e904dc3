using System.Text.Json;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// How the lease's holder finds a request to cancel its run (<see cref="RunCatalog.RequestCancelAsync"/>): it reads the
/// run's <c>cancel-request.json</c> every <see cref="CancelPollInterval"/>, apart from the renewals, and a request
/// addressed to it fires <see cref="CancelRequested"/>.
/// </summary>
internal sealed partial class RunLease
{
    /// <summary>
    /// How often a driver looks for a request to cancel its run. One read of one key: on S3, a GET of a key that is
    /// usually missing (a 404) every 2 s per running run — cheap, and no listing — so a cancel is noticed within
    /// about 2 s, where the lease's renewal (every 10 s) would take up to 10.
    /// </summary>
    public static readonly TimeSpan CancelPollInterval = TimeSpan.FromSeconds(2);

    // Never disposed: its token goes on in the RunCancelledException of a run it cancelled, after the lease is gone
    // (a source without a timer holds nothing to release).
    private readonly CancellationTokenSource _cancelRequested = new();
    private Task _watching = Task.CompletedTask;
    private volatile CancelRequestRecord? _cancelRequest;

    /// <summary>Fires when a request to cancel the run, addressed to this driver, was found (<see cref="WatchForCancelRequests"/>).</summary>
    public CancellationToken CancelRequested => _cancelRequested.Token;

    /// <summary>The request that fired <see cref="CancelRequested"/>, once it has.</summary>
    public CancelRequestRecord? CancelRequest => _cancelRequest;

    /// <summary>
    /// Starts looking for a request to cancel the run (<c>cancel-request.json</c>) every <paramref name="interval"/>
    /// (<see cref="CancelPollInterval"/> by default), apart from the renewals, until the lease is disposed. A workflow
    /// step's share of a lease (<see cref="IsJoined"/>) does not look: the driver that holds the lease does.
    /// </summary>
    public void WatchForCancelRequests(TimeSpan? interval = null)
    {
        if (!IsJoined && _watching.IsCompleted)
        {
            _watching = WatchAsync(interval ?? CancelPollInterval);
        }
    }

    /// <summary>The run's cancel request, or <see langword="null"/> when there is none or it cannot be read.</summary>
    public static async Task<CancelRequestRecord?> ReadCancelRequestAsync(IObjectStore store, RunLayout layout, CancellationToken cancellationToken)
    {
        try
        {
            var bytes = await store.ReadAllBytesAsync(layout.CancelRequestKey, cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize(bytes, LeaseJsonContext.Default.CancelRequestRecord) is { SchemaVersion: >= 1 } request ? request : null;
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task WatchAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    if (await ReadCancelRequestAsync(_store, _layout, _stop.Token).ConfigureAwait(false) is { } request
                        && string.Equals(request.Holder, _holder, StringComparison.Ordinal))
                    {
                        _cancelRequest = request;
                        await _cancelRequested.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
                catch (ObjectStoreException)
                {
                    // Look again at the next tick.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
