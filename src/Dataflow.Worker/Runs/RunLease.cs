using System.Globalization;
using System.Text.Json;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The lease that keeps two drivers from running (or resuming) the same run at once: a small object naming its
/// holder and when the lease expires, renewed while the driver works and deleted when it ends. A lease that has
/// expired (its driver died) can be taken over.
/// </summary>
/// <remarks>
/// A driver that follows an Argo Workflow holds the lease for it (<see cref="HoldForWorkflowAsync"/>): the workflow's
/// own steps (publish, and its exit handler) join that lease rather than take it, so the run shows as running and
/// <c>gc</c> refuses it while the workflow runs. Without a driver (it died, or the workflow was submitted by hand) the
/// steps take the lease as any driver would.
/// Without conditional writes (not every S3 service has them) two drivers that start within moments of each other
/// could both write a lease: so after writing, a driver reads the lease back a moment later and gives up if the
/// last writer was someone else.
/// A driver that watches for cancel requests (<see cref="WatchForCancelRequests"/>) reads the run's
/// <c>cancel-request.json</c> every <see cref="CancelPollInterval"/>: a request addressed to its holder (see
/// <see cref="RunCatalog.RequestCancelAsync"/>) fires <see cref="CancelRequested"/>. A request addressed to an earlier
/// holder (a driver since ended, whose run is now resumed) is ignored, so it can never cancel the resumed run.
/// </remarks>
internal sealed partial class RunLease : IAsyncDisposable
{
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(30);

    // How long a driver waits before it reads its lease back: longer than another driver's gap between reading "no
    // lease" and writing its own, which is about one read and one write: 250 ms on a remote store (S3), 50 ms on a
    // folder, where a read and a write take well under a millisecond. (Not measured at start-up: the first requests
    // of a process are slowed by compilation, not by the store.)
    private static readonly TimeSpan s_settleRemote = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_settleFolder = TimeSpan.FromMilliseconds(50);

    private readonly IObjectStore _store;
    private readonly RunLayout _layout;
    private readonly TimeProvider _time;
    private readonly string _holder;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();

    private Task _renewing = Task.CompletedTask;
    private Task _confirmed = Task.CompletedTask;
    private volatile LeaseRecord? _lostTo;
    private volatile string? _workflow;

    private RunLease(IObjectStore store, RunLayout layout, TimeProvider time, string? joined = null)
    {
        _store = store;
        _layout = layout;
        _time = time;
        _holder = joined ?? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}");
        IsJoined = joined is not null;
    }

    /// <summary>The driver holding the lease, as its record names it: host, process id and a random id.</summary>
    public string Holder => _holder;

    /// <summary>True when this is a workflow step's share of the lease its driver holds for the workflow: it neither renews nor deletes it.</summary>
    public bool IsJoined { get; }

    /// <summary>
    /// Takes the lease of the run, or throws when another driver holds it. The driver may start working at once:
    /// whether a driver that started at the same moment overwrote the lease is checked a moment later in the
    /// background (<see cref="Lost"/> fires then), and <see cref="ConfirmAsync"/> waits for that check.
    /// </summary>
    /// <param name="store">The run's store.</param>
    /// <param name="layout">The run.</param>
    /// <param name="time">The clock expiry is judged by.</param>
    /// <param name="cancellationToken">Stops the reads and writes.</param>
    /// <param name="workflow">
    /// For a step of an Argo Workflow: its name. When the driver that follows that workflow holds the lease for it, the
    /// step joins that lease (see <see cref="IsJoined"/>) instead of failing.
    /// </param>
    /// <exception cref="RunLeaseException">Another driver holds an unexpired lease.</exception>
    public static async Task<RunLease> AcquireAsync(IObjectStore store, RunLayout layout, TimeProvider time, CancellationToken cancellationToken, string? workflow = null)
    {
        var lease = new RunLease(store, layout, time);
        var current = await lease.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (current is not null && current.ExpiresAt > time.GetUtcNow() && !IsDeadHolderOnThisMachine(current.Holder))
        {
            if (workflow is not null && string.Equals(current.Workflow, workflow, StringComparison.Ordinal))
            {
                return new RunLease(store, layout, time, joined: current.Holder);
            }

            throw new RunLeaseException(layout.RunId, current.Holder, current.ExpiresAt, current.Workflow);
        }

        if (current is null && store is IAtomicCreateStore atomic)
        {
            // No lease, and a store that can create one only if there is none (a folder): of two drivers starting at
            // once exactly one creates it, so the lease is confirmed at once, without waiting to read it back.
            if (!await atomic.TryCreateAsync(layout.LeaseKey, lease.Record(), cancellationToken).ConfigureAwait(false))
            {
                var winner = await lease.ReadAsync(cancellationToken).ConfigureAwait(false);
                throw winner is null
                    ? new RunLeaseException(layout.RunId, "another driver", time.GetUtcNow())
                    : new RunLeaseException(layout.RunId, winner.Holder, winner.ExpiresAt, winner.Workflow);
            }
        }
        else
        {
            // Taking over an expired lease (or one on a store without create-if-absent) overwrites it: whether a driver
            // that started at the same moment overwrote it in turn is checked a moment later.
            await lease.WriteAsync(cancellationToken).ConfigureAwait(false);
            lease._confirmed = lease.SettleAsync(SettleTime(store));
        }

        lease._renewing = lease.RenewAsync();
        return lease;
    }

    /// <summary>
    /// Records that this driver holds the lease for Argo Workflow <paramref name="workflow"/>, which it follows: the
    /// workflow's steps join the lease from now on. Written at once, and with every renewal.
    /// </summary>
    public async Task HoldForWorkflowAsync(string workflow, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(workflow);
        _workflow = workflow;
        if (_lostTo is null && !IsJoined)
        {
            await WriteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Fires when the lease turns out to be someone else's: the driver must stop.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>Waits until the lease is known to be this driver's.</summary>
    /// <exception cref="RunLeaseException">Another driver took the lease.</exception>
    public async Task ConfirmAsync(CancellationToken cancellationToken)
    {
        await _confirmed.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_lostTo is not null)
        {
            throw LostReason();
        }
    }

    /// <summary>Why the lease was lost.</summary>
    public RunLeaseException LostReason() =>
        _lostTo is { } other
            ? new RunLeaseException(_layout.RunId, other.Holder, other.ExpiresAt, other.Workflow)
            : new RunLeaseException(_layout.RunId, "another driver", _time.GetUtcNow());

    /// <summary>
    /// True when <paramref name="holder"/> is a driver on this machine whose process has exited: its lease is stale
    /// before it expires (a driver killed here can be resumed at once, without waiting out its lease).
    /// </summary>
    internal static bool IsDeadHolderOnThisMachine(string holder)
    {
        var parts = holder.Split('/');
        if (parts.Length != 3 || !string.Equals(parts[0], Environment.MachineName, StringComparison.Ordinal)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        if (pid == Environment.ProcessId)
        {
            return false;
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary>The lease's record, or <see langword="null"/> when none is held.</summary>
    public static async Task<LeaseRecord?> ReadAsync(IObjectStore store, RunLayout layout, CancellationToken cancellationToken)
    {
        try
        {
            var bytes = await store.ReadAllBytesAsync(layout.LeaseKey, cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize(bytes, LeaseJsonContext.Default.LeaseRecord);
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

    public async ValueTask DisposeAsync()
    {
        if (IsJoined)
        {
            // The driver's lease: it deletes it when the workflow ends.
            _stop.Dispose();
            _lost.Dispose();
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _confirmed.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        _lost.Dispose();
        try
        {
            if (_lostTo is null && await ReadAsync(CancellationToken.None).ConfigureAwait(false) is { } current && current.Holder == _holder)
            {
                await _store.DeleteAsync([_layout.LeaseKey], CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (ObjectStoreException)
        {
            // An expiring lease is harmless: the next driver waits at most its duration, then takes over.
        }
    }

    private Task<LeaseRecord?> ReadAsync(CancellationToken cancellationToken) => ReadAsync(_store, _layout, cancellationToken);

    private async Task WriteAsync(CancellationToken cancellationToken) =>
        await _store.PutAsync(_layout.LeaseKey, Record(), cancellationToken).ConfigureAwait(false);

    /// <summary>This driver's lease as stored: expiring <see cref="Duration"/> from now.</summary>
    private byte[] Record() =>
        JsonSerializer.SerializeToUtf8Bytes(new LeaseRecord(_holder, _time.GetUtcNow() + Duration) { Workflow = _workflow }, LeaseJsonContext.Default.LeaseRecord);

    /// <summary>How long to wait before reading the lease back on <paramref name="store"/>.</summary>
    internal static TimeSpan SettleTime(IObjectStore store) =>
        store.Location.StartsWith("file:", StringComparison.Ordinal) ? s_settleFolder : s_settleRemote;

    private async Task SettleAsync(TimeSpan settle)
    {
        try
        {
            await Task.Delay(settle, _time, _stop.Token).ConfigureAwait(false);
            if (await ReadAsync(_stop.Token).ConfigureAwait(false) is { } after && after.Holder != _holder)
            {
                await LoseAsync(after).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectStoreException)
        {
            // The renewals look again.
        }
    }

    private async Task LoseAsync(LeaseRecord other)
    {
        _lostTo = other;
        await _lost.CancelAsync().ConfigureAwait(false);
    }

    private async Task RenewAsync()
    {
        using var timer = new PeriodicTimer(Duration / 3, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    // A driver that stalled past its lease may have been replaced: it must not write over its successor.
                    if (await ReadAsync(_stop.Token).ConfigureAwait(false) is { } current && current.Holder != _holder)
                    {
                        await LoseAsync(current).ConfigureAwait(false);
                        return;
                    }

                    await WriteAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (ObjectStoreException)
                {
                    // Try again at the next tick; the lease lasts three ticks.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>Who holds a run's lease, and until when.</summary>
/// <param name="Holder">The driver: host, process id and a random id.</param>
/// <param name="ExpiresAt">When the lease lapses unless renewed.</param>
internal sealed record LeaseRecord(string Holder, DateTimeOffset ExpiresAt)
{
    /// <summary>The Argo Workflow the holder follows and holds the lease for, whose steps join it.</summary>
    public string? Workflow { get; init; }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(LeaseRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(CancelRequestRecord))]
internal sealed partial class LeaseJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>Another driver holds the run's lease.</summary>
public sealed class RunLeaseException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public RunLeaseException(string runId, string holder, DateTimeOffset expiresAt)
        : this(runId, holder, expiresAt, workflow: null)
    {
    }

    /// <summary>Creates the exception for a lease held for an Argo Workflow.</summary>
    public RunLeaseException(string runId, string holder, DateTimeOffset expiresAt, string? workflow)
        : base(workflow is null
            ? $"run '{runId}' is being driven by {holder} (its lease lasts until {expiresAt:u}); wait for it to finish, or for the lease to expire if that driver died"
            : $"run '{runId}' is being driven by {holder}, following Argo Workflow {workflow} (its lease lasts until {expiresAt:u}); wait for the workflow to end, or for the lease to expire if that driver died")
    {
        RunId = runId;
        Holder = holder;
        ExpiresAt = expiresAt;
        Workflow = workflow;
    }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>The driver that holds the lease.</summary>
    public string Holder { get; }

    /// <summary>When the lease lapses unless its holder renews it.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The Argo Workflow the holder follows, if it holds the lease for one.</summary>
    public string? Workflow { get; }
}
