using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dataflow.Core;
using Dataflow.Storage;
using Dataflow.Worker;
using k8s;
using k8s.Autorest;

namespace Dataflow.Kubernetes;

/// <summary>
/// Runs a stored plan as one Argo Workflow: submits it through the custom-objects API and follows its status to the
/// end. The workflow does everything itself (its stages' pods, the publish step, and an exit handler that cleans up
/// and stores the summary); the driver holds the run's lease for the workflow while it follows it (the workflow's
/// steps join that lease), so the run shows as running and <c>gc</c> refuses it. Cancelling deletes the workflow and
/// its pods.
/// </summary>
public sealed partial class ArgoExecutor : WorkflowExecutor
{
    internal const string Group = "argoproj.io";
    internal const string Version = "v1alpha1";
    internal const string Plural = "workflows";

    private readonly KubernetesExecutorOptions _options;

    /// <summary>Creates the executor.</summary>
    /// <param name="options">The cluster, namespace and pods.</param>
    public ArgoExecutor(KubernetesExecutorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <inheritdoc/>
    public override string Name => "argo";

    /// <inheritdoc/>
    public override bool DefinesJobFromArguments => true;

    /// <inheritdoc/>
    public override void Validate() => _options.Validate();

    /// <summary>Submits the workflow of the run's plan and waits for its end.</summary>
    /// <returns>The summary the workflow's exit handler stored.</returns>
    /// <exception cref="JobFailedException">The workflow failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the workflow was deleted.</exception>
    public override async Task<RunSummary> ExecuteAsync(WorkflowExecution execution, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        var options = _options;
        var plan = execution.Plan;
        var manifest = ArgoWorkflowEmitter.Emit(plan, execution.PlanUri, options.Pods);
        KubernetesExecutor.UseGenerateName(manifest);
        var metadata = manifest["metadata"]!.AsObject();
        metadata["namespace"] = options.Namespace;
        var perPod = metadata["annotations"]?[ArgoWorkflowEmitter.TasksPerPodAnnotation]?.GetValue<string>().Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray() ?? [];

        JsonObject created;
        using (var timeout = new CancellationTokenSource(KubernetesExecutor.CreateTimeout))
        {
            // Not cancelled midway: a workflow the server created but whose name never reached us could not be deleted.
            created = await options.Client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonObject>(manifest, Group, Version, options.Namespace, Plural, cancellationToken: timeout.Token).ConfigureAwait(false);
        }

        var name = created["metadata"]!["name"]!.GetValue<string>();
        var follower = new Follower(plan, execution, perPod);
        string phase;
        try
        {
            // From now on the workflow's steps join the lease the driver holds; without it they could not publish.
            await execution.HoldLeaseForAsync(name, cancellationToken).ConfigureAwait(false);
            execution.Started();
            phase = await FollowAsync(options, name, created, follower, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException && cancellationToken.IsCancellationRequested || ex is ObjectStoreException)
        {
            await DeleteAsync(options, name).ConfigureAwait(false);
            throw;
        }

        var summary = await execution.ReadSummaryAsync(CancellationToken.None).ConfigureAwait(false);
        if (phase == "Succeeded" && summary is { Status: "succeeded" })
        {
            return summary;
        }

        var message = follower.Message is { Length: > 0 } m ? $"workflow {name} ended {phase}: {m}" : $"workflow {name} ended {phase}";
        if (phase == "Succeeded")
        {
            message += "; its exit handler stored no summary of a successful run";
        }

        summary ??= execution.SummaryWithoutTasks("failed", message);
        throw new JobFailedException(summary with { Status = "failed", Error = message }, new InvalidOperationException(message));
    }

    private static async Task<string> FollowAsync(KubernetesExecutorOptions options, string name, JsonObject workflow, Follower follower, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (follower.TakeIn(workflow) is { } ended)
            {
                return ended;
            }

            var resourceVersion = workflow["metadata"]?["resourceVersion"]?.GetValue<string>();
            try
            {
                var watch = options.Client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                    Group, Version, options.Namespace, Plural,
                    fieldSelector: $"metadata.name={name}",
                    resourceVersion: resourceVersion,
                    timeoutSeconds: (int)options.WatchTimeout.TotalSeconds,
                    cancellationToken: cancellationToken);
                await foreach (var (type, item) in watch.ConfigureAwait(false))
                {
                    var changed = ToJsonObject(item);
                    if (type == WatchEventType.Error || changed?["metadata"] is null)
                    {
                        break;
                    }

                    if (type == WatchEventType.Deleted)
                    {
                        throw new InvalidOperationException($"workflow {name} was deleted by someone else while it ran");
                    }

                    workflow = changed;
                    if (follower.TakeIn(workflow) is { } phase)
                    {
                        return phase;
                    }
                }
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Gone)
            {
                // The resource version is too old: read the workflow afresh.
            }

            workflow = await options.Client.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>(Group, Version, options.Namespace, Plural, name, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A watched custom object, as the client hands it over (a JSON element), as a JSON tree.</summary>
    private static JsonObject? ToJsonObject(object? item) => item switch
    {
        JsonObject node => node,
        System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Object } element => JsonObject.Create(element),
        null => null,
        _ => KubernetesJson.Deserialize<JsonObject>(KubernetesJson.Serialize(item)),
    };

    private static async Task DeleteAsync(KubernetesExecutorOptions options, string name)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await options.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, options.Namespace, Plural, name, propagationPolicy: "Background", cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            // Best effort: the workflow's deadline ends it; its pods' commits are harmless to a resumed run.
        }
    }

    [GeneratedRegex(@"^stage-(\d+)-.*-pod$", RegexOptions.CultureInvariant)]
    private static partial Regex StagePodTemplate();

    /// <summary>Turns the workflow's status into progress: pods that succeeded, per stage, times their tasks.</summary>
    private sealed class Follower(Plan plan, WorkflowExecution execution, int[] tasksPerPod)
    {
        private readonly int[] _shown = new int[plan.Stages.Count];

        public string? Message { get; private set; }

        /// <summary>Takes in one state of the workflow; returns its final phase once it has ended.</summary>
        public string? TakeIn(JsonObject workflow)
        {
            if (workflow["status"] is not JsonObject status)
            {
                return null;
            }

            Message = status["message"]?.GetValue<string>();
            var succeeded = new int[plan.Stages.Count];
            if (status["nodes"] is JsonObject nodes)
            {
                foreach (var (_, node) in nodes)
                {
                    if (node?["type"]?.GetValue<string>() == "Pod" && node["phase"]?.GetValue<string>() == "Succeeded"
                        && node["templateName"]?.GetValue<string>() is { } template
                        && StagePodTemplate().Match(template) is { Success: true } match
                        && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var stage)
                        && stage < succeeded.Length)
                    {
                        succeeded[stage]++;
                    }
                }
            }

            for (var s = 0; s < succeeded.Length; s++)
            {
                var tasks = Math.Min(plan.Stages[s].Tasks.Count, succeeded[s] * (s < tasksPerPod.Length ? tasksPerPod[s] : 1));
                for (; _shown[s] < tasks; _shown[s]++)
                {
                    execution.TaskCommitted(s);
                }
            }

            var phase = status["phase"]?.GetValue<string>();
            return phase is "Succeeded" or "Failed" or "Error" && status["finishedAt"] is not null ? phase : null;
        }
    }

}
