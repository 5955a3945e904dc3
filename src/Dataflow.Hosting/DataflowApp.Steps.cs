using System.CommandLine;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The <c>publish</c> and <c>finish</c> commands: the steps a driver takes itself, for a run without one (an Argo
/// Workflow runs them as its last step and its exit handler).
/// </summary>
public sealed partial class DataflowApp
{
    private Command CreatePublishCommand(AppConsole console)
    {
        var plan = PlanOption();
        AppOption[] own = [plan, _s3Profile, _s3PartSize, _verbose];
        var command = new Command("publish", "Publish the final outputs of a run whose last stage has committed (the last step of an Argo Workflow). Exit code 0: published; 1: a task that makes an output has not committed, or the store failed; 2: usage error.");
        var options = AddOptions(command, own);
        command.SetAction((parse, cancellationToken) => WithPlanStoreAsync(
            new RunContext(Name, parse, options, console), plan, "publish", async (context, store, runId) =>
            {
                var outputs = await RunSteps.PublishAsync(store, runId, TimeProvider.System, cancellationToken).ConfigureAwait(false);
                foreach (var output in outputs)
                {
                    context.Info($"published {output}");
                }

                return ExitCodes.Success;
            },
            cancellationToken));
        return command;
    }

    private Command CreateFinishCommand(AppConsole console)
    {
        var plan = PlanOption();
        var status = new AppOption<string?>("--status", "How the workflow ended, as Argo says it ({{workflow.status}}): Succeeded, Failed or Error.", null, "STATUS", null, null);
        var failures = new AppOption<string?>("--failures", "Why the workflow failed, for the run's summary (e.g. {{workflow.failures}}).", null, "TEXT", null, null);
        AppOption[] own = [plan, status, failures, _s3Profile, _s3PartSize, _verbose];
        var command = new Command("finish", "End a run after its workflow ended (an Argo Workflow's exit handler): abort its incomplete multipart uploads; when it succeeded, also delete its intermediate data; store its summary. A failed run keeps what committed, for 'resume'.");
        var options = AddOptions(command, own);
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new RunContext(Name, parse, options, console);
            var ended = context.Get(status);
            if (ended is not ("Succeeded" or "Failed" or "Error"))
            {
                return Task.FromResult(Usage(console, $"finish needs --status Succeeded, Failed or Error, not '{ended}'"));
            }

            return WithPlanStoreAsync(context, plan, "finish", async (context, store, runId) =>
            {
                var succeeded = ended == "Succeeded";
                var reason = context.Get(failures) is { Length: > 0 } text ? $"the workflow ended {ended}: {text}" : $"the workflow ended {ended}";
                var summary = await RunSteps.FinishAsync(store, runId, succeeded, reason, TimeProvider.System, cancellationToken).ConfigureAwait(false);
                context.Info(succeeded
                    ? $"run {runId} succeeded; intermediate objects left: {summary.IntermediateObjectsLeft}"
                    : $"run {runId} {ended}: what committed is kept; '{Name} resume {runId} --store {store.Location}' runs the rest, '{Name} gc {runId} --store {store.Location}' deletes it");
                return ExitCodes.Success;
            },
            cancellationToken);
        });
        return command;
    }

    private static AppOption<string?> PlanOption() =>
        new("--plan", "The address of the run's plan: <store>/_dataflow/runs/<run-id>/plan.json. The store and run are found from it.", null, "URI", null, null);

    /// <summary>Opens the store a plan's address names and runs <paramref name="step"/> on it, turning errors into exit codes.</summary>
    private async Task<int> WithPlanStoreAsync(RunContext context, AppOption<string?> plan, string name, Func<RunContext, IObjectStore, string, Task<int>> step, CancellationToken cancellationToken)
    {
        var console = context.Console;
        if (context.Get(plan) is not { } address)
        {
            return Usage(console, $"{name} needs --plan");
        }

        string location;
        string runId;
        try
        {
            (location, runId) = PlanAddress.Parse(address);
        }
        catch (ArgumentException ex)
        {
            return Usage(console, $"{name}: {ex.Message}");
        }

        var (store, exitCode) = await OpenStoreAsync(context, location, context.Get(_s3Profile), context.Get(_s3PartSize), $"{name}: ", cancellationToken).ConfigureAwait(false);
        if (store is null)
        {
            return exitCode;
        }

        await using (store.ConfigureAwait(false))
        {
            try
            {
                return await step(context, store, runId).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                context.Info($"{name}: cancelled");
                return ExitCodes.Cancelled;
            }
            catch (Exception ex)
            {
                context.Info($"{name}: error: {(context.Get(_verbose) ? ex.ToString() : ex.Message)}");
                return ExitCodes.Failure;
            }
        }
    }
}
