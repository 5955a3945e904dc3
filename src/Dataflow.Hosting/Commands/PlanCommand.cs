using System.CommandLine;
using System.Globalization;
using Dataflow.Core;
using Dataflow.Kubernetes;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The <c>plan</c> command: stores a plan and writes the manifests that run it on Kubernetes
/// (<c>--emit argo|k8s|json</c>). It takes the options of <c>run</c>.
/// </summary>
internal sealed class PlanCommand(AppDefinition app, RunCommand run)
{
    private readonly AppOption<string> _emit = new("--emit", "What to write: argo (an Argo Workflow, for 'argo submit'), k8s (Indexed Jobs, one per stage, then a publish Job, for 'kubectl create' in order) or json (the plan itself).", "argo", "argo|k8s|json", null, v => v is "argo" or "k8s" or "json" ? null : "must be argo, k8s or json");
    private readonly AppOption<string?> _out = new("--out", "Write the manifest to this file instead of stdout.", null, "FILE", null, null);

    public Command Create()
    {
        var command = new Command("plan", "Plan the job, store the plan in the store (pods read it there), and write the manifest that runs it on Kubernetes: the job runs when you submit it. Takes the options of 'run'.");
        var options = run.AddOptions(command, _emit, _out);
        command.SetAction((parse, cancellationToken) =>
        {
            var context = run.CreateContext(parse, options, runId: null);
            Job job;
            try
            {
                job = app.DefineJob!(context);
            }
            catch (Exception ex) when (CommandSupport.IsJobDefinitionError(ex))
            {
                return Task.FromResult(CommandSupport.Usage(context, ex.Message));
            }

            // The pods of an emitted plan neither look tasks up nor add them: a plan that said the cache is on would
            // keep its data for a cache that never learns of it.
            if (context.Get(app.Driver.Cache) != CacheMode.Off)
            {
                return Task.FromResult(CommandSupport.Usage(context, "plan: --cache is for 'run': a plan emitted for Kubernetes or Argo does not use the task cache yet"));
            }

            if (context.Get(app.Store.Store) is not { } location)
            {
                return Task.FromResult(CommandSupport.Usage(context, "plan needs --store: the store the pods read (s3://…, oss://…, or a folder on a volume claim)"));
            }

            return CommandSupport.WithStoreAsync(
                app,
                context,
                location,
                "plan: ",
                ex => CommandSupport.IsJobDefinitionError(ex) || ex is FormatException or ArgumentException,
                store => PlanAsync(context, job, store, cancellationToken),
                cancellationToken);
        });
        return command;
    }

    private async Task<int> PlanAsync(RunContext context, Job job, IObjectStore store, CancellationToken cancellationToken)
    {
        var kind = context.Get(_emit);
        var pods = kind == "json" ? null : app.Cluster.CreatePodOptions(context, store, context.GivenArguments(app.Forwarded));
        var runner = new JobRunner(store, new JobRunnerOptions
        {
            RunId = context.RunId,
            Overwrite = context.Get(app.Job.Overwrite),
            Arguments = app.StoredArguments(context),
        });
        context.Store = store;
        if (app.BeforeRun is not null)
        {
            // The program's own preparation (e.g. creating example inputs), as before a run.
            await app.BeforeRun(context, cancellationToken).ConfigureAwait(false);
        }

        var plan = await runner.PlanAsync(job, cancellationToken).ConfigureAwait(false);
        var planUri = PlanAddress.Format(store, plan.RunId);
        var manifest = kind switch
        {
            "argo" => ClusterManifests.ArgoWorkflowYaml(plan, planUri, pods!),
            "k8s" => ClusterManifests.IndexedJobsYaml(plan, planUri, pods!),
            _ => PlanJson.Serialize(plan, indented: true) + Environment.NewLine,
        };
        if (context.Get(_out) is { } file)
        {
            await File.WriteAllTextAsync(file, manifest, cancellationToken).ConfigureAwait(false);
            context.Info(string.Create(CultureInfo.InvariantCulture, $"wrote {file} ({manifest.Length:N0} bytes)"));
        }
        else
        {
            await context.Console.Out.WriteAsync(manifest).ConfigureAwait(false);
        }

        context.Info(string.Create(CultureInfo.InvariantCulture, $"run {plan.RunId}: {plan.TaskCount} tasks in {plan.Stages.Count} stages; plan stored at {planUri}"));
        return ExitCodes.Success;
    }
}
