using System.CommandLine;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The <c>finish</c> command: the end a driver gives a run itself, for a run without one (an Argo Workflow runs it as
/// its exit handler).
/// </summary>
internal sealed class FinishCommand(AppDefinition app, AppConsole console)
{
    private readonly AppOption<string?> _plan = CommandSupport.PlanOption();
    private readonly AppOption<string?> _workflow = CommandSupport.WorkflowOption();
    private readonly AppOption<string?> _status = new("--status", "How the workflow ended, as Argo says it ({{workflow.status}}): Succeeded, Failed or Error.", null, "STATUS", null, null);
    private readonly AppOption<string?> _failures = new("--failures", "Why the workflow failed, for the run's summary (e.g. {{workflow.failures}}).", null, "TEXT", null, null);

    public Command Create()
    {
        var command = new Command("finish", "End a run after its workflow ended (an Argo Workflow's exit handler): abort its incomplete multipart uploads; when it succeeded, also delete its intermediate data; store its summary. A failed run keeps what committed, for 'resume'.");
        var options = CommandSupport.AddOptions(command, [_plan, _workflow, _status, _failures, .. app.Forwarded]);
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new RunContext(app.Name, parse, options, console);
            var ended = context.Get(_status);
            if (ended is not ("Succeeded" or "Failed" or "Error"))
            {
                return Task.FromResult(CommandSupport.Usage(context, $"finish needs --status Succeeded, Failed or Error, not '{ended}'"));
            }

            return CommandSupport.WithPlanStoreAsync(app, context, _plan, "finish", async (store, runId) =>
            {
                var succeeded = ended == "Succeeded";
                var reason = context.Get(_failures) is { Length: > 0 } text ? $"the workflow ended {ended}: {text}" : $"the workflow ended {ended}";
                var summary = await RunSteps.FinishAsync(store, runId, succeeded, reason, TimeProvider.System, context.Get(_workflow), cancellationToken).ConfigureAwait(false);
                context.Info(succeeded
                    ? $"run {runId} succeeded; intermediate objects left: {summary.IntermediateObjectsLeft}"
                    : $"run {runId} {ended}: what committed is kept; {RunSummaryText.WhatNext(app.Name, runId, store.Location)}");
                return ExitCodes.Success;
            },
            cancellationToken);
        });
        return command;
    }
}
