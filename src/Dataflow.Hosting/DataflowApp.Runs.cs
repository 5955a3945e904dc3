using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dataflow.Core;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>Run management: <c>resume</c>, <c>runs</c>, <c>status</c> and <c>gc</c>.</summary>
public sealed partial class DataflowApp
{
    private Command CreateResumeCommand(AppConsole console)
    {
        var runId = RunIdArgument("The run to resume.", required: true);
        AppOption[] driverOptions = [_store, _s3Profile, _s3PartSize, _executor, _gc, _concurrency, _attempts, _taskTimeout, _progress, _json, _verbose, .. TelemetryOptions(), .. ClusterOptions()];
        return CreateStoreCommand(
            "resume",
            "Resume a run whose driver stopped (killed, crashed, cancelled or failed): tasks that committed are not run again, the rest are, and the output is what an uninterrupted run makes. The job is defined again from the arguments stored with the run.",
            driverOptions,
            runId,
            async (context, id, cancellationToken) =>
            {
                var plan = await JobRunner.LoadPlanAsync(context.Store, id!, cancellationToken).ConfigureAwait(false);
                if (plan is null)
                {
                    return Usage(console, $"run '{id}' does not exist in {context.Store.Location}");
                }

                RunContext jobContext;
                try
                {
                    (jobContext, _) = DefineJobFromArguments(plan, context.GivenArguments(driverOptions.Except([_store])), console);
                }
                catch (Exception ex) when (ex is JobDefinitionException or InvalidObjectKeyException)
                {
                    return Usage(console, ex.Message);
                }

                context.Info($"resuming run {id} of job '{plan.Job}' in {context.Store.Location}");
                return await RunCommandAsync(jobContext, context.Store, cancellationToken).ConfigureAwait(false);
            },
            console);
    }

    private Command CreateRunsCommand(AppConsole console) =>
        CreateStoreCommand(
            "runs",
            "List the runs in a store with their state: running (a driver holds the run's lease), succeeded, failed, cancelled, or interrupted (its driver was killed; resume it).",
            [_store, _s3Profile, _json, _verbose],
            null,
            async (context, _, cancellationToken) =>
            {
                var runs = await RunCatalog.ListAsync(context.Store, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (context.Get(_json))
                {
                    context.Console.Out.WriteLine(Json(writer =>
                    {
                        writer.WriteStartArray();
                        foreach (var run in runs)
                        {
                            WriteListing(writer, run);
                        }

                        writer.WriteEndArray();
                    }));
                    return ExitCodes.Success;
                }

                if (runs.Count == 0)
                {
                    context.Info($"no runs in {context.Store.Location}");
                    return ExitCodes.Success;
                }

                var i = CultureInfo.InvariantCulture;
                context.Console.Out.WriteLine(string.Create(i, $"{"RUN",-26} {"JOB",-20} {"STATE",-12} {"TASKS",8} {"INTERMEDIATE",14}"));
                foreach (var run in runs)
                {
                    var tasks = run.Summary is { } s ? string.Create(i, $"{s.TasksRun + s.TasksSkipped}/{s.Tasks}") : "-";
                    context.Console.Out.WriteLine(string.Create(i, $"{run.RunId,-26} {run.Job ?? "-",-20} {run.State,-12} {tasks,8} {ByteSize.Format(run.IntermediateBytes),14}"));
                }

                return ExitCodes.Success;
            },
            console);

    private Command CreateStatusCommand(AppConsole console) =>
        CreateStoreCommand(
            "status",
            "Show one run: its state, each stage's committed tasks, who holds its lease, its intermediate data and its summary.",
            [_store, _s3Profile, _json, _verbose],
            RunIdArgument("The run.", required: true),
            async (context, id, cancellationToken) =>
            {
                var status = await RunCatalog.GetStatusAsync(context.Store, id!, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (status is null)
                {
                    return Usage(console, $"run '{id}' does not exist in {context.Store.Location}");
                }

                var run = status.Run;
                if (context.Get(_json))
                {
                    context.Console.Out.WriteLine(Json(writer =>
                    {
                        writer.WriteStartObject();
                        WriteListingProperties(writer, run);
                        writer.WriteString("createdAt", status.CreatedAt);
                        writer.WriteString("dataflowVersion", status.DataflowVersion);
                        writer.WriteStartArray("stages");
                        foreach (var stage in status.Stages)
                        {
                            writer.WriteStartObject();
                            writer.WriteString("name", stage.Name);
                            writer.WriteNumber("tasks", stage.Tasks);
                            writer.WriteNumber("committed", stage.Committed);
                            writer.WriteEndObject();
                        }

                        writer.WriteEndArray();
                        writer.WriteEndObject();
                    }));
                    return ExitCodes.Success;
                }

                var i = CultureInfo.InvariantCulture;
                var output = context.Console.Out;
                output.WriteLine(string.Create(i, $"run {run.RunId} of job '{run.Job}': {run.State}"));
                output.WriteLine(string.Create(i, $"  planned {status.CreatedAt:u} by Dataflow {status.DataflowVersion}: {status.InputCount} inputs, {status.TaskCount} tasks"));
                for (var s = 0; s < status.Stages.Count; s++)
                {
                    var stage = status.Stages[s];
                    output.WriteLine(string.Create(i, $"  stage {s} '{stage.Name}': {stage.Committed}/{stage.Tasks} committed"));
                }

                output.WriteLine(run.Lease is { } lease
                    ? string.Create(i, $"  lease: {lease.Holder}, {(lease.IsLive ? "until" : "expired at")} {lease.ExpiresAt:u}")
                    : "  lease: none");
                output.WriteLine(string.Create(i, $"  intermediate data: {run.IntermediateObjects} objects, {ByteSize.Format(run.IntermediateBytes)}"));
                if (run.Summary is { } summary)
                {
                    output.WriteLine(string.Create(i, $"  last summary: {summary.Status} in {summary.WallMs} ms, {summary.TasksRun} run, {summary.TasksSkipped} skipped, {summary.Failed} failed{(summary.Error is null ? string.Empty : $": {summary.Error.ReplaceLineEndings(" ")}")}"));
                }

                if (run.State is RunCatalog.Interrupted or "failed" or "cancelled")
                {
                    output.WriteLine($"  '{Name} resume {run.RunId} --store {context.Store.Location}' goes on from what committed");
                }

                return ExitCodes.Success;
            },
            console);

    private Command CreateGcCommand(AppConsole console)
    {
        var runIdOption = new AppOption<string?>("--run-id", "The run to clean up (or give it as the argument).", null, "ID", null, null);
        var keepData = new AppOption<bool>("--keep-data", "Only abort incomplete uploads; keep the run's intermediate data (e.g. to resume it).", false, null, null, null);
        return CreateStoreCommand(
            "gc",
            "Clean up after a run that failed, crashed or was abandoned: abort its incomplete multipart uploads (found through its upload journal, without listing uploads) and delete its intermediate data. Its plan, commit records and summary stay. Refused while a driver holds the run's lease.",
            [_store, _s3Profile, runIdOption, keepData, _verbose],
            RunIdArgument("The run to clean up.", required: false),
            async (context, argument, cancellationToken) =>
            {
                var option = context.Get(runIdOption);
                if (argument is not null && option is not null && argument != option)
                {
                    return Usage(console, $"gc: the run id is given twice, as '{argument}' and --run-id '{option}'");
                }

                var id = argument ?? option;
                if (id is null)
                {
                    return Usage(console, "gc needs the run id: gc <run-id> --store <store>");
                }

                if (!RunIds.IsValid(id))
                {
                    return Usage(console, $"--run-id: '{id}' is not a run id");
                }

                RunCleanup cleanup;
                try
                {
                    cleanup = await RunCatalog.CleanAsync(context.Store, id, context.Get(keepData), cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RunLeaseException ex)
                {
                    context.Info(string.Create(CultureInfo.InvariantCulture, $"error: run {id} is being driven by {ex.Holder} (its lease lasts until {ex.ExpiresAt:u}); gc refuses to delete data a driver is using"));
                    return ExitCodes.Failure;
                }

                context.Info(string.Create(CultureInfo.InvariantCulture, $"run {id}: aborted {cleanup.UploadsAborted} incomplete uploads, deleted {cleanup.ObjectsDeleted} intermediate objects"));
                return ExitCodes.Success;
            },
            console);
    }

    private static Argument<string?> RunIdArgument(string description, bool required) =>
        new("run-id")
        {
            Description = description,
            Arity = required ? ArgumentArity.ExactlyOne : ArgumentArity.ZeroOrOne,
            HelpName = "RUN-ID",
        };

    /// <summary>
    /// A command that works on a store given with <c>--store</c> (required): parses, opens the store, runs the
    /// handler with the run-id argument's value (if it has one), and turns errors into exit codes.
    /// </summary>
    private Command CreateStoreCommand(string name, string description, AppOption[] own, Argument<string?>? runId, Func<RunContext, string?, CancellationToken, Task<int>> handler, AppConsole console)
    {
        var command = new Command(name, description);
        if (runId is not null)
        {
            command.Arguments.Add(runId);
        }

        var options = AddOptions(command, own);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new RunContext(Name, parse, options, console)
            {
                InputPrefix = options.ContainsKey(_input) ? parse.GetValue((Option<string>)options[_input])! : string.Empty,
                Concurrency = options.ContainsKey(_concurrency) ? parse.GetValue((Option<int>)options[_concurrency]) : Environment.ProcessorCount,
            };
            var id = runId is null ? null : parse.GetValue(runId);
            if (id is not null && !RunIds.IsValid(id))
            {
                return Usage(console, $"'{id}' is not a run id");
            }

            if (context.Get(_store) is not { } location)
            {
                return Usage(console, $"{name} needs --store");
            }

            S3Compatibility? profile = options.ContainsKey(_s3Profile) ? context.Get(_s3Profile) : null;
            var partSize = options.ContainsKey(_s3PartSize) ? context.Get(_s3PartSize) : 16L << 20;
            var (store, exitCode) = await OpenStoreAsync(context, location, profile, partSize, string.Empty, cancellationToken).ConfigureAwait(false);
            if (store is null)
            {
                return exitCode;
            }

            await using (store.ConfigureAwait(false))
            {
                context.Store = store;
                try
                {
                    return await handler(context, id, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is JobDefinitionException or InvalidObjectKeyException)
                {
                    return Usage(console, ex.Message);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    context.Info("cancelled");
                    return ExitCodes.Cancelled;
                }
                catch (Exception ex)
                {
                    context.Info($"error: {(context.Get(_verbose) ? ex.ToString() : ex.Message)}");
                    return ExitCodes.Failure;
                }
            }
        });
        return command;
    }

    private static void WriteListing(Utf8JsonWriter writer, RunListing run)
    {
        writer.WriteStartObject();
        WriteListingProperties(writer, run);
        writer.WriteEndObject();
    }

    private static void WriteListingProperties(Utf8JsonWriter writer, RunListing run)
    {
        writer.WriteString("runId", run.RunId);
        writer.WriteString("job", run.Job);
        writer.WriteString("state", run.State);
        writer.WriteNumber("intermediateObjects", run.IntermediateObjects);
        writer.WriteNumber("intermediateBytes", run.IntermediateBytes);
        if (run.Lease is { } lease)
        {
            writer.WriteStartObject("lease");
            writer.WriteString("holder", lease.Holder);
            writer.WriteString("expiresAt", lease.ExpiresAt);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("lease");
        }

        writer.WritePropertyName("summary");
        if (run.Summary is { } summary)
        {
            using var document = JsonDocument.Parse(summary.ToJson());
            document.RootElement.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
