using System.Globalization;
using Dataflow.Worker;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Hosting;

/// <summary>
/// What the pages may do to a run when the ui command allows actions: cancel a running run (a request its driver
/// reads through its lease), resume an interrupted, failed or cancelled one (in this process, as the program's
/// <c>resume</c> command would), and clean up a run that ended (<c>gc</c>).
/// </summary>
internal sealed class UiActions(UiOptions options) : IAsyncDisposable
{
    /// <summary>The actions, as the API names them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["cancel", "resume", "gc"];

    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, Task> _resuming = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _results = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The action this process is doing on the run now (a resume it drives), if any.</summary>
    public string? Pending(string runId)
    {
        lock (_gate)
        {
            return _resuming.TryGetValue(runId, out var task) && !task.IsCompleted ? "resume" : null;
        }
    }

    /// <summary>How the last resume this process did of the run ended, if it did one.</summary>
    public string? LastResult(string runId)
    {
        lock (_gate)
        {
            return _results.GetValueOrDefault(runId);
        }
    }

    /// <summary>Does <paramref name="action"/> on the run <paramref name="run"/> shows; returns the HTTP status and a message for the page.</summary>
    public async Task<(int Status, string Message)> RunAsync(string action, RunView run, CancellationToken cancellationToken)
    {
        switch (action)
        {
            case "cancel":
                if (run.State != RunCatalog.Running)
                {
                    return (StatusCodes.Status409Conflict, $"run {run.RunId} is {run.State}, not running: there is nothing to cancel");
                }

                return await CancelAsync(run, cancellationToken).ConfigureAwait(false);
            case "resume":
                return Resume(run);
            case "gc":
                return await CleanAsync(run, cancellationToken).ConfigureAwait(false);
            default:
                return (StatusCodes.Status404NotFound, $"no action '{action}': use one of {string.Join(", ", Names)}");
        }
    }

    private async Task<(int Status, string Message)> CancelAsync(RunView run, CancellationToken cancellationToken)
    {
        try
        {
            await RunCatalog.RequestCancelAsync(options.Store, run.RunId, Requester(), "from the web UI", options.Time, cancellationToken).ConfigureAwait(false);
            return (StatusCodes.Status202Accepted, $"asked the driver of run {run.RunId} to cancel it; it stops within a few seconds");
        }
        catch (InvalidOperationException ex)
        {
            return (StatusCodes.Status409Conflict, ex.Message);
        }
    }

    private (int Status, string Message) Resume(RunView run)
    {
        if (options.Resume is not { } resume)
        {
            return (StatusCodes.Status501NotImplemented, $"this program cannot resume run {run.RunId}: resume it with the program that defines job '{run.Job}'");
        }

        if (run.State is RunCatalog.Running or "succeeded" or RunCatalog.Damaged)
        {
            return (StatusCodes.Status409Conflict, $"run {run.RunId} is {run.State}: only an interrupted, failed or cancelled run can be resumed");
        }

        lock (_gate)
        {
            if (_resuming.TryGetValue(run.RunId, out var current) && !current.IsCompleted)
            {
                return (StatusCodes.Status409Conflict, $"run {run.RunId} is being resumed already");
            }

            // The resumed run belongs to this process: stopping the ui command cancels it (and it can be resumed again).
            _resuming[run.RunId] = Task.Run(async () =>
            {
                string result;
                try
                {
                    var exitCode = await resume(run.RunId, _stopping.Token).ConfigureAwait(false);
                    result = exitCode switch
                    {
                        ExitCodes.Success => "the resume this ui started succeeded",
                        ExitCodes.PartialSuccess => "the resume this ui started succeeded partially: some inputs failed and are left out (see its summary)",
                        ExitCodes.Usage => "the resume this ui started was refused (exit code 2): this program may define another job; the ui command's console says why",
                        _ => string.Create(CultureInfo.InvariantCulture, $"the resume this ui started ended with exit code {exitCode}; the ui command's console says why"),
                    };
                }
                catch (Exception ex)
                {
                    result = $"the resume this ui started failed: {ex.Message}";
                }

                options.Log($"ui: run {run.RunId}: {result}");
                lock (_gate)
                {
                    _results[run.RunId] = result;
                }
            });
        }

        return (StatusCodes.Status202Accepted, $"resuming run {run.RunId} in the ui command's process");
    }

    private async Task<(int Status, string Message)> CleanAsync(RunView run, CancellationToken cancellationToken)
    {
        if (run.State == RunCatalog.Running)
        {
            return (StatusCodes.Status409Conflict, $"run {run.RunId} is running: gc refuses to delete data a driver is using");
        }

        try
        {
            var cleanup = await RunCatalog.CleanAsync(options.Store, run.RunId, keepData: false, options.Time, cancellationToken).ConfigureAwait(false);
            return (StatusCodes.Status200OK, string.Create(CultureInfo.InvariantCulture, $"run {run.RunId}: aborted {cleanup.UploadsAborted} incomplete uploads, deleted {cleanup.ObjectsDeleted} intermediate objects"));
        }
        catch (RunLeaseException ex)
        {
            return (StatusCodes.Status409Conflict, $"run {run.RunId} is being driven by {ex.Holder}: gc refuses to delete data a driver is using");
        }
    }

    private static string Requester() => string.Create(CultureInfo.InvariantCulture, $"ui on {Environment.MachineName}/{Environment.ProcessId}");

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] running;
        lock (_gate)
        {
            running = [.. _resuming.Values];
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
