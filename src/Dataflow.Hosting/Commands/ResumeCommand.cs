using System.CommandLine;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>The <c>resume</c> command: goes on with a run whose driver stopped, its job defined again from the run's stored arguments.</summary>
internal sealed class ResumeCommand(AppDefinition app, AppConsole console, RunCommand run)
{
    public Command Create()
    {
        AppOption[] options = [.. app.Store.All, .. app.Driver.All, .. app.Telemetry.All, .. app.Cluster.All];
        return CommandSupport.CreateStoreCommand(
            app,
            console,
            "resume",
            "Resume a run whose driver stopped (killed, crashed, cancelled or failed): tasks that committed are not run again, the rest are, and the output is what an uninterrupted run makes. The job is defined again from the arguments stored with the run.",
            options,
            CommandSupport.RunIdArgument("The run to resume.", required: true),
            async (context, id, cancellationToken) =>
            {
                var plan = await JobRunner.LoadPlanAsync(context.Store, id!, cancellationToken).ConfigureAwait(false);
                if (plan is null)
                {
                    return CommandSupport.Usage(context, $"run '{id}' does not exist in {context.Store.Location}");
                }

                RunContext jobContext;
                try
                {
                    (jobContext, _) = run.DefineJobFromArguments(plan, context.GivenArguments(options.Except([app.Store.Store])));
                }
                catch (Exception ex) when (CommandSupport.IsJobDefinitionError(ex))
                {
                    return CommandSupport.Usage(context, ex.Message);
                }

                // The store is open already: what it logs goes where the resumed run's logging says.
                jobContext.StoreLog = context.StoreLog;
                context.Info($"resuming run {id} of job '{plan.Job}' in {context.Store.Location}");
                return await run.RunAsync(jobContext, context.Store, cancellationToken).ConfigureAwait(false);
            },
            existing: true);
    }
}
