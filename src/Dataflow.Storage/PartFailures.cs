using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;

namespace Dataflow.Storage;

/// <summary>
/// The failure of a group of parts sent in parallel (a multipart upload's parts, a compose's copies): the first
/// part that fails for good cancels its siblings through <see cref="Token"/>, and what is reported is that first
/// failure, not the cancellations it caused. A cancellation by the caller's token stays a cancellation.
/// </summary>
internal sealed class PartFailures : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationToken _caller;
    private Exception? _first;

    /// <summary>Creates the group, cancelled too when <paramref name="caller"/> is.</summary>
    public PartFailures(CancellationToken caller)
    {
        _caller = caller;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(caller);

        // Kept, so that a part that starts late still gets it once the group is disposed.
        Token = _cancel.Token;
    }

    /// <summary>Cancelled by the first failure (or by the caller): the token of every part.</summary>
    public CancellationToken Token { get; }

    /// <summary>The first real failure of a part, once there was one.</summary>
    public Exception? First => Volatile.Read(ref _first);

    /// <summary>
    /// Records the failure of a part (unless it is the cancellation this group asked for, or the caller did) and
    /// cancels the other parts.
    /// </summary>
    public async Task FailAsync(Exception exception)
    {
        if (!IsCancellation(exception))
        {
            Interlocked.CompareExchange(ref _first, exception, null);
        }

        await CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Cancels the parts still running (e.g. when the whole upload is abandoned).</summary>
    public async Task CancelAsync()
    {
        try
        {
            await _cancel.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Throws what a failed group reports instead of <paramref name="caught"/>: a cancellation by the caller (the
    /// group's or <paramref name="caller"/>) as it is, else the first real failure of a part, else
    /// <paramref name="caught"/> itself; stack traces are kept.
    /// </summary>
    [DoesNotReturn]
    public void Rethrow(Exception caught, CancellationToken caller = default)
    {
        var cancelled = caught is OperationCanceledException && (_caller.IsCancellationRequested || caller.IsCancellationRequested);
        ExceptionDispatchInfo.Throw(cancelled ? caught : First ?? caught);
    }

    /// <summary>Throws the first real failure of a part, if there was one.</summary>
    public void ThrowIfFailed()
    {
        if (First is { } first)
        {
            ExceptionDispatchInfo.Capture(first).Throw();
        }
    }

    public void Dispose() => _cancel.Dispose();

    // A part that stopped because its siblings were cancelled (or the caller cancelled) did not fail by itself.
    private bool IsCancellation(Exception exception) =>
        exception is OperationCanceledException && (_cancel.IsCancellationRequested || _caller.IsCancellationRequested);
}
