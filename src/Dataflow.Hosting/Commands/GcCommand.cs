using System.CommandLine;
using System.Globalization;
using Dataflow.Core;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>The <c>gc</c> command: cleans up after a run that failed, crashed or was abandoned.</summary>
internal sealed class GcCommand(AppDefinition app, AppConsole console)
{
    private readonly AppOption<string?> _runId = new("--run-id", "The run to clean up (or give it as the argument).", null, "ID", null, null);
    private readonly AppOption<bool> _keepData = new("--keep-data", "Only abort incomplete uploads; keep the run's intermediate data (e.g. to resume it).", false, null, null, null);
    private readonly AppOption<bool> _cache = new("--cache", "Trim the task cache (_dataflow/cache/) instead of cleaning up a run: delete entries older than --max-age, then the oldest until the cache fits in --max-size, then every cached object no entry refers to. Entries a running run uses, and a running run's data, are never deleted.", false, null, null, null);
    private readonly AppOption<long?> _maxSize = new("--max-size", "With --cache: the most bytes the cache's objects may hold after the trim, e.g. 10GiB.", null, "SIZE", text => ByteSize.Parse(text), v => v is null or >= 0 ? null : "cannot be negative");
    private readonly AppOption<TimeSpan?> _maxAge = new("--max-age", "With --cache: the oldest an entry may be, e.g. 7d or 12h.", null, "DURATION", text => Duration.Parse(text), v => v is null || v > TimeSpan.Zero ? null : "must be a duration such as 7d or 12h (for no age bound, leave --max-age out)");

    public Command Create() =>
        CommandSupport.CreateStoreCommand(
            app,
            console,
            "gc",
            "Clean up after a run that failed, crashed or was abandoned: abort its incomplete multipart uploads (found through its upload journal, without listing uploads) and delete its intermediate data. Its plan, commit records and summary stay. Refused while a driver holds the run's lease. With --cache, trim the task cache instead.",
            [app.Store.Store, app.Store.S3Profile, _runId, _keepData, _cache, _maxSize, _maxAge, app.Driver.Verbose],
            CommandSupport.RunIdArgument("The run to clean up.", required: false),
            async (context, argument, cancellationToken) =>
            {
                var option = context.Get(_runId);
                if (context.Get(_cache))
                {
                    return argument is not null || option is not null || context.Get(_keepData)
                        ? CommandSupport.Usage(context, "gc --cache trims the task cache: it takes no run id and no --keep-data")
                        : await TrimCacheAsync(context, cancellationToken).ConfigureAwait(false);
                }

                if (context.Get(_maxSize) is not null || context.Get(_maxAge) is not null)
                {
                    return CommandSupport.Usage(context, "gc: --max-size and --max-age bound the task cache; give them with --cache");
                }

                if (argument is not null && option is not null && argument != option)
                {
                    return CommandSupport.Usage(context, $"gc: the run id is given twice, as '{argument}' and --run-id '{option}'");
                }

                var id = argument ?? option;
                if (id is null)
                {
                    return CommandSupport.Usage(context, "gc needs the run id: gc <run-id> --store <store>");
                }

                if (!RunIds.IsValid(id))
                {
                    return CommandSupport.Usage(context, $"--run-id: '{id}' is not a run id");
                }

                if (!await RunCatalog.ExistsAsync(context.Store, id, cancellationToken).ConfigureAwait(false))
                {
                    return CommandSupport.Usage(context, $"gc: run '{id}' does not exist in {context.Store.Location}");
                }

                RunCleanup cleanup;
                try
                {
                    cleanup = await RunCatalog.CleanAsync(context.Store, id, context.Get(_keepData), cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RunLeaseException ex)
                {
                    context.Info(string.Create(CultureInfo.InvariantCulture, $"error: run {id} is being driven by {ex.Holder}{(ex.Workflow is null ? string.Empty : $", following Argo Workflow {ex.Workflow}")} (its lease lasts until {ex.ExpiresAt:u}); gc refuses to delete data a driver is using"));
                    return ExitCodes.Failure;
                }

                context.Info(string.Create(CultureInfo.InvariantCulture, $"run {id}: aborted {cleanup.UploadsAborted} incomplete uploads, deleted {cleanup.ObjectsDeleted} intermediate objects"));
                if (cleanup.LeftoverFiles > 0)
                {
                    context.Info(string.Create(CultureInfo.InvariantCulture, $"removed {cleanup.LeftoverFiles} temporary files ({ByteSize.Format(cleanup.LeftoverBytes)}) that writers which died had left in the store"));
                }

                return ExitCodes.Success;
            },
            existing: true);

    private async Task<int> TrimCacheAsync(RunContext context, CancellationToken cancellationToken)
    {
        var result = await TaskCache.TrimAsync(context.Store, new CacheTrimOptions { MaxBytes = context.Get(_maxSize), MaxAge = context.Get(_maxAge) }, cancellationToken: cancellationToken).ConfigureAwait(false);
        context.Info(string.Create(CultureInfo.InvariantCulture, $"task cache: {result.Before.Entries} entries and {result.Before.Objects} objects ({ByteSize.Format(result.Before.Bytes)}) before, {result.After.Entries} entries and {result.After.Objects} objects ({ByteSize.Format(result.After.Bytes)}) after; deleted {result.EntriesDeleted} entries and {result.ObjectsDeleted} objects{(result.EntriesHeld > 0 ? $"; kept {result.EntriesHeld} entries that running runs use" : string.Empty)}"));
        return ExitCodes.Success;
    }
}
