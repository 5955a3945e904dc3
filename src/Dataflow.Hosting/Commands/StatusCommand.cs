using System.CommandLine;
using System.Globalization;
using Dataflow.Core;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The <c>status</c> command: shows one run, its stages, lease, intermediate data and summary; with <c>--plan</c>, the
/// run's stored plan as JSON instead.
/// </summary>
internal sealed class StatusCommand(AppDefinition app, AppConsole console)
{
    private readonly AppOption<bool> _plan = new("--plan", "Print the run's stored plan as JSON instead (the whole plan, in the form 'plan --emit json' writes, however compactly the run stores it).", false, null, null, null);

    public Command Create() =>
        CommandSupport.CreateStoreCommand(
            app,
            console,
            "status",
            "Show one run: its state, each stage's committed tasks, who holds its lease, its intermediate data and its summary; or, with --plan, its stored plan as JSON.",
            [app.Store.Store, app.Store.S3Profile, app.Driver.Json, _plan, app.Driver.Verbose],
            CommandSupport.RunIdArgument("The run.", required: true),
            async (context, id, cancellationToken) =>
            {
                if (context.Get(_plan))
                {
                    return await PrintPlanAsync(context, id!, cancellationToken).ConfigureAwait(false);
                }

                var status = await RunCatalog.GetStatusAsync(context.Store, id!, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (status is null)
                {
                    return CommandSupport.Usage(context, $"run '{id}' does not exist in {context.Store.Location}");
                }

                if (context.Get(app.Driver.Json))
                {
                    context.Console.Out.WriteLine(status.ToJson());
                }
                else
                {
                    Write(context, status);
                }

                return ExitCodes.Success;
            },
            existing: true);

    private static async Task<int> PrintPlanAsync(RunContext context, string id, CancellationToken cancellationToken)
    {
        if (await JobRunner.LoadPlanAsync(context.Store, id, cancellationToken).ConfigureAwait(false) is not { } plan)
        {
            return CommandSupport.Usage(context, $"run '{id}' has no stored plan in {context.Store.Location}");
        }

        await context.Console.Out.WriteLineAsync(PlanJson.Serialize(plan, indented: true)).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static void Write(RunContext context, RunStatus status)
    {
        var i = CultureInfo.InvariantCulture;
        var run = status.Run;
        var output = context.Console.Out;
        var state = run.Summary is { Partial: true, FailedInputs: { } failed } && run.State == "succeeded"
            ? string.Create(i, $"{run.State} (partial: {failed.Count} input{(failed.Count == 1 ? "" : "s")} failed and left out: {string.Join(", ", failed.Take(5).Select(k => $"'{k}'"))}{(failed.Count > 5 ? " …" : string.Empty)})")
            : run.State;
        output.WriteLine(run.Job is null ? $"run {run.RunId}: {state}" : $"run {run.RunId} of job '{run.Job}': {state}");
        if (run.Damage is not null)
        {
            output.WriteLine($"  damaged: {run.Damage}");
        }

        if (status.CreatedAt is { } createdAt)
        {
            output.WriteLine(string.Create(i, $"  planned {createdAt:u} by Dataflow {status.DataflowVersion}: {status.InputCount} inputs, {status.TaskCount} tasks"));
        }

        if (status.Arguments is { } arguments)
        {
            output.WriteLine($"  arguments: {string.Join(' ', arguments)}");
        }
        for (var s = 0; s < status.Stages.Count; s++)
        {
            var stage = status.Stages[s];
            output.WriteLine(string.Create(i, $"  stage {s} '{stage.Name}': {stage.Committed}/{stage.Tasks} committed{(stage.Cached > 0 ? $" ({stage.Cached} from the task cache)" : string.Empty)}"));
        }

        output.WriteLine(run.Lease is { } lease
            ? string.Create(i, $"  lease: {lease.Holder}{(lease.Workflow is null ? string.Empty : $" following Argo Workflow {lease.Workflow}")}, {(lease.IsLive ? "until" : "expired at")} {lease.ExpiresAt:u}")
            : "  lease: none");
        if (run.Lease?.CancelRequest is { } request)
        {
            output.WriteLine(string.Create(i, $"  cancel requested by {request.RequestedBy} at {request.RequestedAt:u}{(request.Reason is null ? string.Empty : $": {request.Reason}")}; its driver acts on it within seconds"));
        }

        output.WriteLine(string.Create(i, $"  intermediate data: {run.IntermediateObjects} objects, {ByteSize.Format(run.IntermediateBytes)}"));
        if (run.Summary is { } summary)
        {
            output.WriteLine(string.Create(i, $"  last summary: {summary.Status} in {summary.WallMs} ms, {summary.TasksRun} run, {summary.TasksSkipped} skipped, {(summary.TasksCached > 0 ? $"{summary.TasksCached} cached, " : string.Empty)}{summary.Failed} failed{(summary.Error is null ? string.Empty : $": {summary.Error.ReplaceLineEndings(" ")}")}"));
        }

        if (run.State is RunCatalog.Interrupted or "failed" or "cancelled")
        {
            output.WriteLine($"  {RunSummaryText.ResumeCommand(context.ProgramName, run.RunId, context.Store.Location)} goes on from what committed");
        }
    }
}
