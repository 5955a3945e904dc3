using System.CommandLine;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The <c>publish</c> command: the step a driver takes itself once the last stage has committed, for a run without one
/// (an Argo Workflow runs it as its last step).
/// </summary>
internal sealed class PublishCommand(AppDefinition app, AppConsole console)
{
    private readonly AppOption<string?> _plan = CommandSupport.PlanOption();
    private readonly AppOption<string?> _workflow = CommandSupport.WorkflowOption();

    public Command Create()
    {
        var command = new Command("publish", "Publish the final outputs of a run whose last stage has committed (the last step of an Argo Workflow). Exit code 0: published; 1: a task that makes an output has not committed, or the store failed; 2: usage error.");
        var options = CommandSupport.AddOptions(command, [_plan, _workflow, .. app.Forwarded]);
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new RunContext(app.Name, parse, options, console);
            return CommandSupport.WithPlanStoreAsync(app, context, _plan, "publish", async (store, runId) =>
            {
                var outputs = await RunSteps.PublishAsync(store, runId, TimeProvider.System, context.Get(_workflow), cancellationToken).ConfigureAwait(false);
                foreach (var output in outputs)
                {
                    context.Info($"published {output}");
                }

                return ExitCodes.Success;
            },
            cancellationToken);
        });
        return command;
    }
}
