using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Dataflow.Testing;

/// <summary>
/// Plays the Argo workflow controller for one Workflow: <c>steps</c> and <c>container</c> templates, <c>withItems</c>
/// and <c>withSequence</c>, parameters, <c>retryStrategy</c>, template and workflow <c>parallelism</c>,
/// <c>onExit</c> and <c>activeDeadlineSeconds</c>, recording <c>status.nodes</c> as Argo does. Accepted and ignored:
/// <c>serviceAccountName</c>, <c>podGC</c>, volumes, <c>nodeSelector</c>, tolerations, resources, metadata of pods.
/// Retry back-off is honoured up to <see cref="FakeClusterOptions.MaxRetryBackoff"/> only, to keep tests fast.
/// </summary>
/// <remarks>One concept, kept in one file: the fake Argo workflow controller.</remarks>
internal sealed partial class WorkflowController
{
    private static readonly TimeSpan s_statusInterval = TimeSpan.FromMilliseconds(50);

    private readonly FakeCluster _cluster;
    private readonly string _ns;
    private readonly string _name;
    private readonly Lock _gate = new();
    private readonly JsonObject _nodes = [];
    private readonly Dictionary<string, JsonObject> _templates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _globals = new(StringComparer.Ordinal);
    private string? _uid;
    private SemaphoreSlim? _parallelism;
    private CancellationToken _stopped;
    private string _startedAt = "";
    private bool _nodesChanged;
    private bool _flushScheduled;

    public WorkflowController(FakeCluster cluster, string ns, string name)
    {
        _cluster = cluster;
        _ns = ns;
        _name = name;
    }

    public async Task RunAsync(CancellationToken stopped)
    {
        _stopped = stopped;
        var workflow = _cluster.Store.Get(ResourceKind.Workflows, _ns, _name);
        if (workflow?["spec"] is not JsonObject spec)
        {
            return;
        }

        _uid = Json.Str(workflow["metadata"]?["uid"]);
        foreach (var template in Json.Objects(spec["templates"]))
        {
            _templates[Json.Str(template["name"]) ?? ""] = template;
        }

        _globals["workflow.name"] = _name;
        _globals["workflow.namespace"] = _ns;
        _globals["workflow.uid"] = _uid ?? "";
        var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var parameter in Json.Objects(spec["arguments"]?["parameters"]))
        {
            var parameterName = Json.Str(parameter["name"]) ?? "";
            var value = Json.Str(parameter["value"]) ?? "";
            _globals[$"workflow.parameters.{parameterName}"] = value;
            arguments[parameterName] = value;
        }

        using var parallelism = Json.Int(spec["parallelism"]) is int p and > 0 ? new SemaphoreSlim(p) : null;
        _parallelism = parallelism;
        using var deadline = new CancellationTokenSource();
        using var running = CancellationTokenSource.CreateLinkedTokenSource(stopped, deadline.Token);

        PublishWorkflow("Pending", null, finished: false);
        _startedAt = Json.Now();
        PublishWorkflow("Running", null, finished: false);
        if (Json.Long(spec["activeDeadlineSeconds"]) is long seconds)
        {
            deadline.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        var entrypoint = Json.Str(spec["entrypoint"]) ?? "";
        var result = await ExecuteAsync(entrypoint, arguments, _name, _name, null, null, running.Token).ConfigureAwait(false);
        var phase = result.Phase;
        var message = result.Message;
        if (deadline.IsCancellationRequested && phase != "Succeeded")
        {
            phase = "Failed";
            message = "Max duration limit exceeded";
        }

        if (Json.Str(spec["onExit"]) is { Length: > 0 } onExit)
        {
            // The exit handler runs even after the deadline, as in Argo; only deletion stops it.
            _globals["workflow.status"] = phase;
            var exit = await ExecuteAsync(onExit, new Dictionary<string, string>(StringComparer.Ordinal), $"{_name}.onExit", "onExit", null, null, stopped).ConfigureAwait(false);
            if (exit.Phase != "Succeeded" && phase == "Succeeded")
            {
                phase = exit.Phase;
                message = $"exit handler failed: {exit.Message}";
            }
        }

        PublishWorkflow(phase, message, finished: true);
    }

    private async Task<NodeResult> ExecuteAsync(
        string templateName, Dictionary<string, string> arguments, string nodeName, string displayName,
        string? boundaryId, string? parentId, CancellationToken cancellationToken)
    {
        if (!_templates.TryGetValue(templateName, out var template))
        {
            var id = AddNode(nodeName, displayName, "Pod", templateName, boundaryId, parentId, "Error");
            return Complete(id, "Error", $"template {templateName} not found");
        }

        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var parameter in Json.Objects(template["inputs"]?["parameters"]))
        {
            var parameterName = Json.Str(parameter["name"]) ?? "";
            var value = arguments.TryGetValue(parameterName, out var given) ? given
                : Json.Str(parameter["value"]) ?? Json.Str(parameter["default"]);
            if (value is null)
            {
                var id = AddNode(nodeName, displayName, "Pod", templateName, boundaryId, parentId, "Error");
                return Complete(id, "Error", $"inputs.parameters.{parameterName} was not supplied");
            }

            inputs[$"inputs.parameters.{parameterName}"] = value;
        }

        if (template["retryStrategy"] is JsonObject retryStrategy)
        {
            return await RetryAsync(template, retryStrategy, inputs, nodeName, displayName, boundaryId, parentId, cancellationToken).ConfigureAwait(false);
        }

        return await ExecuteBodyAsync(template, inputs, nodeName, displayName, boundaryId, parentId, 0, cancellationToken).ConfigureAwait(false);
    }

    private async Task<NodeResult> RetryAsync(
        JsonObject template, JsonObject retryStrategy, Dictionary<string, string> inputs, string nodeName,
        string displayName, string? boundaryId, string? parentId, CancellationToken cancellationToken)
    {
        var templateName = Json.Str(template["name"]) ?? "";
        var id = AddNode(nodeName, displayName, "Retry", templateName, boundaryId, parentId, "Running");
        var limit = Json.Int(retryStrategy["limit"]) ?? int.MaxValue;
        var policy = Json.Str(retryStrategy["retryPolicy"]) ?? "OnFailure";
        int? stopOnExitCode = Validation.TryParseRetryExpression(Json.Str(retryStrategy["expression"]), out var code) ? code : null;
        var backoff = ParseDuration(Json.Str(retryStrategy["backoff"]?["duration"]));
        var factor = Json.Long(retryStrategy["backoff"]?["factor"]) ?? 1;
        for (var attempt = 0; ; attempt++)
        {
            var child = await ExecuteBodyAsync(
                template, inputs, $"{nodeName}({attempt.ToString(CultureInfo.InvariantCulture)})",
                $"{displayName}({attempt.ToString(CultureInfo.InvariantCulture)})", boundaryId, id, attempt,
                cancellationToken).ConfigureAwait(false);
            if (child.Phase == "Succeeded")
            {
                return Complete(id, "Succeeded", null, child.ExitCode);
            }

            var retryable = policy switch
            {
                "Always" => true,
                "OnError" or "OnTransientError" => child.Phase == "Error",
                _ => child.Phase == "Failed",
            };
            if (attempt >= limit || !retryable || cancellationToken.IsCancellationRequested
                || (stopOnExitCode is int stop && child.ExitCode == stop))
            {
                var message = attempt >= limit ? $"No more retries left: {child.Message}" : child.Message;
                return Complete(id, child.Phase, message, child.ExitCode);
            }

            var delay = backoff * Math.Pow(Math.Max(factor, 1), attempt);
            if (delay > TimeSpan.Zero)
            {
                var capped = delay < _cluster.Options.MaxRetryBackoff ? delay : _cluster.Options.MaxRetryBackoff;
                try
                {
                    await Task.Delay(capped, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_stopped.IsCancellationRequested)
                {
                    return Complete(id, "Failed", "Max duration limit exceeded", child.ExitCode);
                }
            }
        }
    }

    private Task<NodeResult> ExecuteBodyAsync(
        JsonObject template, Dictionary<string, string> inputs, string nodeName, string displayName,
        string? boundaryId, string? parentId, int retries, CancellationToken cancellationToken)
    {
        var scope = new Dictionary<string, string>(_globals, StringComparer.Ordinal);
        foreach (var (key, value) in inputs)
        {
            scope[key] = value;
        }

        scope["retries"] = retries.ToString(CultureInfo.InvariantCulture);
        return template["steps"] is JsonArray
            ? StepsAsync(template, scope, nodeName, displayName, boundaryId, parentId, cancellationToken)
            : PodAsync(template, scope, nodeName, displayName, boundaryId, parentId, retries, cancellationToken);
    }

    private async Task<NodeResult> StepsAsync(
        JsonObject template, Dictionary<string, string> scope, string nodeName, string displayName,
        string? boundaryId, string? parentId, CancellationToken cancellationToken)
    {
        var templateName = Json.Str(template["name"]) ?? "";
        var id = AddNode(nodeName, displayName, "Steps", templateName, boundaryId, parentId, "Running");
        using var limit = Json.Int(template["parallelism"]) is int p and > 0 ? new SemaphoreSlim(p) : null;
        IReadOnlyList<string> previous = [id];
        var groupIndex = 0;
        foreach (var group in (template["steps"] as JsonArray ?? []).OfType<JsonArray>())
        {
            var groupName = $"{nodeName}[{groupIndex.ToString(CultureInfo.InvariantCulture)}]";
            var groupId = AddNode(groupName, $"[{groupIndex.ToString(CultureInfo.InvariantCulture)}]", "StepGroup", templateName, id, null, "Running");
            Link(previous, groupId);
            var runs = new List<Task<NodeResult>>();
            foreach (var step in group.OfType<JsonObject>())
            {
                foreach (var (stepName, item) in Expand(step, scope))
                {
                    var stepScope = scope;
                    if (item is not null)
                    {
                        stepScope = new Dictionary<string, string>(scope, StringComparer.Ordinal) { ["item"] = item };
                    }

                    runs.Add(StepAsync(step, stepScope, $"{groupName}.{stepName}", stepName, id, groupId, limit, cancellationToken));
                }
            }

            var results = await Task.WhenAll(runs).ConfigureAwait(false);
            var failed = Array.Find(results, r => r.Phase != "Succeeded");
            Complete(groupId, failed?.Phase ?? "Succeeded", failed is null ? null : $"child '{failed.Id}' failed");
            if (failed is not null)
            {
                return Complete(id, failed.Phase, $"child '{failed.Id}' failed");
            }

            previous = [.. results.Select(r => r.Id).Where(i => i.Length > 0)];
            groupIndex++;
        }

        return Complete(id, "Succeeded", null);
    }

    private async Task<NodeResult> StepAsync(
        JsonObject step, Dictionary<string, string> scope, string nodeName, string displayName, string boundaryId,
        string groupId, SemaphoreSlim? limit, CancellationToken cancellationToken)
    {
        var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var parameter in Json.Objects(step["arguments"]?["parameters"]))
        {
            arguments[Json.Str(parameter["name"]) ?? ""] = Substitute(Json.Str(parameter["value"]) ?? "", scope);
        }

        if (limit is not null)
        {
            try
            {
                await limit.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_stopped.IsCancellationRequested)
            {
                return new NodeResult("", "Failed", "Max duration limit exceeded", null);
            }
        }

        try
        {
            return await ExecuteAsync(Json.Str(step["template"]) ?? "", arguments, nodeName, displayName, boundaryId, groupId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            limit?.Release();
        }
    }

    private async Task<NodeResult> PodAsync(
        JsonObject template, Dictionary<string, string> scope, string nodeName, string displayName,
        string? boundaryId, string? parentId, int retries, CancellationToken cancellationToken)
    {
        var templateName = Json.Str(template["name"]) ?? "";
        var id = AddNode(nodeName, displayName, "Pod", templateName, boundaryId, parentId, "Pending");
        if (_parallelism is not null)
        {
            try
            {
                await _parallelism.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_stopped.IsCancellationRequested)
            {
                return Complete(id, "Failed", "Max duration limit exceeded");
            }
        }

        try
        {
            var container = (JsonObject)(template["container"] ?? new JsonObject()).DeepClone();
            container["name"] ??= "main";
            var podName = PodName(templateName, nodeName);
            scope["pod.name"] = podName;
            SubstituteAll(container, scope);
            var pod = _cluster.StartPod(new PodRequest(
                _ns, podName, ResourceKind.Workflows, _name, _uid, container,
                new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["workflows.argoproj.io/workflow"] = _name,
                    ["workflows.argoproj.io/completed"] = "false",
                },
                new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["workflows.argoproj.io/node-name"] = nodeName,
                    ["workflows.argoproj.io/node-id"] = id,
                },
                new Dictionary<string, string>(StringComparer.Ordinal) { ["ARGO_NODE_ID"] = id, ["ARGO_RETRIES"] = scope["retries"] },
                null, retries));
            if (pod.Phase == "Running")
            {
                Update(id, node => node["phase"] = "Running");
            }

            PodOutcome outcome;
            try
            {
                outcome = await pod.Outcome.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_stopped.IsCancellationRequested)
            {
                pod.Kill();
                var killed = await pod.Outcome.ConfigureAwait(false);
                return Complete(id, "Failed", "Pod was active on the node longer than the specified deadline", killed.ExitCode);
            }

            return outcome switch
            {
                { Succeeded: true } => Complete(id, "Succeeded", null, outcome.ExitCode),
                { ExitCode: int code } => Complete(id, "Failed", $"Error (exit code {code.ToString(CultureInfo.InvariantCulture)})", code),
                _ => Complete(id, "Error", $"{outcome.Reason}: {outcome.Message}"),
            };
        }
        finally
        {
            _parallelism?.Release();
        }
    }

    private static IEnumerable<(string Name, string? Item)> Expand(JsonObject step, Dictionary<string, string> scope)
    {
        var name = Json.Str(step["name"]) ?? "";
        if (step["withItems"] is JsonArray items)
        {
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i] is JsonValue ? Json.Str(items[i]) ?? "" : items[i]?.ToJsonString() ?? "";
                yield return ($"{name}({i.ToString(CultureInfo.InvariantCulture)}:{item})", item);
            }
        }
        else if (step["withSequence"] is JsonObject sequence)
        {
            long Number(string field) =>
                Json.Long(JsonValue.Create(Substitute(Json.Str(sequence[field]) ?? "", scope))) ?? 0;

            var start = sequence["start"] is null ? 0 : Number("start");
            var end = sequence["end"] is not null ? Number("end")
                : start + (sequence["count"] is null ? 0 : Number("count")) - 1;
            var i = 0;
            var stepSize = end >= start ? 1 : -1;
            for (var value = start; stepSize > 0 ? value <= end : value >= end; value += stepSize)
            {
                var item = value.ToString(CultureInfo.InvariantCulture);
                yield return ($"{name}({i.ToString(CultureInfo.InvariantCulture)}:{item})", item);
                i++;
            }
        }
        else
        {
            yield return (name, null);
        }
    }

    private static string Substitute(string text, IReadOnlyDictionary<string, string> scope) =>
        Placeholder().Replace(text, m => scope.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value);

    private static void SubstituteAll(JsonNode node, IReadOnlyDictionary<string, string> scope)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (obj[key] is JsonValue v && Json.Str(v) is { } s && v.GetValueKind() == System.Text.Json.JsonValueKind.String)
                    {
                        obj[key] = Substitute(s, scope);
                    }
                    else if (obj[key] is { } child)
                    {
                        SubstituteAll(child, scope);
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String)
                    {
                        array[i] = Substitute(v.GetValue<string>(), scope);
                    }
                    else if (array[i] is { } child)
                    {
                        SubstituteAll(child, scope);
                    }
                }

                break;
        }
    }

    private static TimeSpan ParseDuration(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return TimeSpan.Zero;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plainSeconds))
        {
            return TimeSpan.FromSeconds(plainSeconds);
        }

        var total = TimeSpan.Zero;
        foreach (Match m in DurationPart().Matches(text))
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                _ => TimeSpan.FromSeconds(value),
            };
        }

        return total;
    }

    /// <summary>Argo's node ids: the workflow name and a 32-bit FNV-1a hash of the node name.</summary>
    private string NodeId(string nodeName) =>
        nodeName == _name ? _name : $"{_name}-{Fnv(nodeName).ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Argo's v2 pod names: workflow, template and the hash of the node name.</summary>
    private string PodName(string templateName, string nodeName)
    {
        var hash = Fnv(nodeName).ToString(CultureInfo.InvariantCulture);
        var prefix = $"{_name}-{templateName}";
        var max = 63 - hash.Length - 1;
        return $"{(prefix.Length > max ? prefix[..max] : prefix)}-{hash}";
    }

    private static uint Fnv(string text)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
        {
            hash = unchecked((hash ^ b) * 16777619u);
        }

        return hash;
    }

    private string AddNode(
        string nodeName, string displayName, string type, string templateName, string? boundaryId, string? parentId,
        string phase)
    {
        var id = NodeId(nodeName);
        lock (_gate)
        {
            var node = new JsonObject
            {
                ["id"] = id,
                ["name"] = nodeName,
                ["displayName"] = displayName,
                ["type"] = type,
                ["templateName"] = templateName,
                ["templateScope"] = $"local/{_name}",
                ["phase"] = phase,
                ["startedAt"] = Json.Now(),
            };
            if (boundaryId is not null)
            {
                node["boundaryID"] = boundaryId;
            }

            _nodes[id] = node;
            if (parentId is not null && _nodes[parentId] is JsonObject parent)
            {
                AddChild(parent, id);
            }

            PublishNodes();
        }

        return id;
    }

    private void Link(IReadOnlyList<string> parents, string childId)
    {
        lock (_gate)
        {
            foreach (var parentId in parents)
            {
                if (_nodes[parentId] is JsonObject parent)
                {
                    AddChild(parent, childId);
                }
            }

            PublishNodes();
        }
    }

    private static void AddChild(JsonObject parent, string childId)
    {
        if (parent["children"] is not JsonArray children)
        {
            children = [];
            parent["children"] = children;
        }

        children.Add(childId);
    }

    private void Update(string id, Action<JsonObject> change)
    {
        lock (_gate)
        {
            if (_nodes[id] is JsonObject node)
            {
                change(node);
            }

            PublishNodes();
        }
    }

    private NodeResult Complete(string id, string phase, string? message, int? exitCode = null)
    {
        Update(id, node =>
        {
            node["phase"] = phase;
            node["finishedAt"] = Json.Now();
            if (message is not null)
            {
                node["message"] = message;
            }

            if (exitCode is int code && node["type"]?.GetValue<string>() == "Pod")
            {
                node["outputs"] = new JsonObject { ["exitCode"] = code.ToString(CultureInfo.InvariantCulture) };
            }
        });
        return new NodeResult(id, phase, message, exitCode);
    }

    /// <summary>
    /// Schedules a write of the nodes to the Workflow. Called with <see cref="_gate"/> held. Writes are batched (at
    /// most one per <see cref="s_statusInterval"/>), as Argo batches its own: a Workflow of thousands of nodes would
    /// otherwise copy all of them on every change.
    /// </summary>
    private void PublishNodes()
    {
        _nodesChanged = true;
        if (!_flushScheduled)
        {
            _flushScheduled = true;
            _ = FlushNodesLaterAsync();
        }
    }

    private async Task FlushNodesLaterAsync()
    {
        await Task.Delay(s_statusInterval).ConfigureAwait(false);
        lock (_gate)
        {
            _flushScheduled = false;
            if (_nodesChanged)
            {
                WriteNodes();
            }
        }
    }

    private void WriteNodes()
    {
        _nodesChanged = false;
        var nodes = (JsonObject)_nodes.DeepClone();
        var progress = Progress();
        _cluster.Store.Update(ResourceKind.Workflows, _ns, _name, wf =>
        {
            var status = Json.Obj(wf, "status");
            status["nodes"] = nodes;
            status["progress"] = progress;
        });
    }

    private string Progress()
    {
        var pods = _nodes.Select(p => p.Value).OfType<JsonObject>().Where(n => Json.Str(n["type"]) == "Pod").ToList();
        var succeeded = pods.Count(n => Json.Str(n["phase"]) == "Succeeded");
        return $"{succeeded.ToString(CultureInfo.InvariantCulture)}/{pods.Count.ToString(CultureInfo.InvariantCulture)}";
    }

    private void PublishWorkflow(string phase, string? message, bool finished)
    {
        lock (_gate)
        {
            _nodesChanged = false;
            var nodes = (JsonObject)_nodes.DeepClone();
            var progress = Progress();
            var finishedAt = Json.Now();
            _cluster.Store.Update(ResourceKind.Workflows, _ns, _name, wf =>
            {
                var labels = Json.Obj(Json.Obj(wf, "metadata"), "labels");
                labels["workflows.argoproj.io/phase"] = phase;
                if (finished)
                {
                    labels["workflows.argoproj.io/completed"] = "true";
                }

                var status = Json.Obj(wf, "status");
                status["phase"] = phase;
                if (_startedAt.Length > 0)
                {
                    status["startedAt"] = _startedAt;
                }

                if (finished)
                {
                    status["finishedAt"] = finishedAt;
                }

                if (message is not null)
                {
                    status["message"] = message;
                }

                status["progress"] = progress;
                if (nodes.Count > 0)
                {
                    status["nodes"] = nodes;
                }
            });
        }
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|h|m|s)")]
    private static partial Regex DurationPart();

    private sealed record NodeResult(string Id, string Phase, string? Message, int? ExitCode);
}
