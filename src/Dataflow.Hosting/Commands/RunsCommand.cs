using System.CommandLine;
using System.Globalization;
using Dataflow.Core;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>The <c>runs</c> command: lists the runs in a store with their state.</summary>
internal sealed class RunsCommand(AppDefinition app, AppConsole console)
{
    public Command Create() =>
        CommandSupport.CreateStoreCommand(
            app,
            console,
            "runs",
            "List the runs in a store with their state: running (a driver holds the run's lease), succeeded, failed, cancelled, interrupted (its driver was killed; resume it), or damaged (no plan, or a record that cannot be read; status says which).",
            [app.Store.Store, app.Store.S3Profile, app.Driver.Json, app.Driver.Verbose],
            runId: null,
            async (context, _, cancellationToken) =>
            {
                var runs = await RunCatalog.ListAsync(context.Store, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (context.Get(app.Driver.Json))
                {
                    context.Console.Out.WriteLine(RunCatalog.ToJson(runs));
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
                    var tasks = run.Tasks is { } total ? string.Create(i, $"{run.TasksCommitted?.ToString(i) ?? "?"}/{total}") : "-";
                    context.Console.Out.WriteLine(string.Create(i, $"{run.RunId,-26} {run.Job ?? "-",-20} {(run.Summary is { Partial: true } && run.State == "succeeded" ? "partial" : run.State),-12} {tasks,8} {ByteSize.Format(run.IntermediateBytes),14}"));
                }

                return ExitCodes.Success;
            },
            existing: true);
}
