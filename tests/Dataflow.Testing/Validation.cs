using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Dataflow.Testing;

/// <summary>What the API server (and, for Workflows, the fake's own limits) refuses with 422 Invalid.</summary>
internal static partial class Validation
{
    public const int MaxJobNameLength = 63;
    // Argo refuses longer Workflow names: the name is a label value on every pod.
    public const int MaxWorkflowNameLength = 63;
    private const int MaxGeneratedBaseLength = 58;
    private const int MaxCompletionsWithBackoffLimitPerIndex = 100_000;

    /// <summary>Gives a <c>generateName</c> object its name, as the API server does before validating.</summary>
    public static void AssignName(JsonObject obj)
    {
        var metadata = Json.Obj(obj, "metadata");
        if (Json.Str(metadata["name"]) is { Length: > 0 })
        {
            return;
        }

        if (Json.Str(metadata["generateName"]) is { Length: > 0 } prefix)
        {
            var truncatedPrefix = prefix.Length > MaxGeneratedBaseLength ? prefix[..MaxGeneratedBaseLength] : prefix;
            metadata["name"] = truncatedPrefix + FakeCluster.RandomSuffix();
        }
    }

    public static void ValidateName(JsonObject obj, int maxLength, List<(string, string)> errors)
    {
        var name = Json.Str(obj["metadata"]?["name"]);
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(("metadata.name", "Required value: name or generateName is required"));
            return;
        }

        if (name.Length > maxLength)
        {
            errors.Add(("metadata.name", $"Invalid value: \"{name}\": must be no more than {maxLength} characters"));
        }

        if (!Dns1123Subdomain().IsMatch(name))
        {
            errors.Add(("metadata.name", $"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"));
        }
    }

    public static List<(string Field, string Message)> Job(JsonObject job)
    {
        var errors = new List<(string, string)>();
        ValidateName(job, MaxJobNameLength, errors);
        var spec = job["spec"] as JsonObject;
        if (spec is null)
        {
            errors.Add(("spec", "Required value"));
            return errors;
        }

        foreach (var field in new[] { "parallelism", "completions", "backoffLimit", "backoffLimitPerIndex", "maxFailedIndexes", "activeDeadlineSeconds", "ttlSecondsAfterFinished" })
        {
            if (spec[field] is { } node && (Json.Long(node) is not long value || value < 0))
            {
                errors.Add(($"spec.{field}", $"Invalid value: {node.ToJsonString()}: must be greater than or equal to 0"));
            }
        }

        var mode = Json.Str(spec["completionMode"]) ?? "NonIndexed";
        var indexed = mode == "Indexed";
        if (mode is not ("NonIndexed" or "Indexed"))
        {
            errors.Add(("spec.completionMode", $"Unsupported value: \"{mode}\": supported values: \"NonIndexed\", \"Indexed\""));
        }

        var completions = Json.Long(spec["completions"]);
        if (indexed && completions is null)
        {
            errors.Add(("spec.completions", "Required value: when completion mode is Indexed"));
        }

        var perIndex = spec["backoffLimitPerIndex"] is not null;
        if (perIndex && !indexed)
        {
            errors.Add(("spec.backoffLimitPerIndex", "Forbidden: requires indexed completion mode"));
        }

        if (perIndex && completions > MaxCompletionsWithBackoffLimitPerIndex)
        {
            errors.Add(("spec.completions", $"Invalid value: {completions}: must be less than or equal to {MaxCompletionsWithBackoffLimitPerIndex} when backoffLimitPerIndex is specified"));
        }

        if (spec["maxFailedIndexes"] is not null)
        {
            if (!perIndex)
            {
                errors.Add(("spec.maxFailedIndexes", "Required value: must be specified when backoffLimitPerIndex is specified"));
            }
            else if (Json.Long(spec["maxFailedIndexes"]) > completions)
            {
                errors.Add(("spec.maxFailedIndexes", "Invalid value: must be less than or equal to completions"));
            }
        }

        var template = spec["template"] as JsonObject;
        var podSpec = template?["spec"] as JsonObject;
        if (podSpec is null)
        {
            errors.Add(("spec.template.spec", "Required value"));
            return errors;
        }

        var restartPolicy = Json.Str(podSpec["restartPolicy"]);
        if (restartPolicy is not ("Never" or "OnFailure"))
        {
            errors.Add(restartPolicy is null
                ? ("spec.template.spec.restartPolicy", "Required value: valid values: \"OnFailure\", \"Never\"")
                : ("spec.template.spec.restartPolicy", $"Unsupported value: \"{restartPolicy}\": supported values: \"OnFailure\", \"Never\""));
        }

        if (spec["podFailurePolicy"] is JsonObject podFailurePolicy)
        {
            if (restartPolicy != "Never")
            {
                errors.Add(("spec.template.spec.restartPolicy", "Invalid value: only \"Never\" is supported when podFailurePolicy is specified"));
            }

            var i = 0;
            foreach (var rule in Json.Objects(podFailurePolicy["rules"]))
            {
                var field = $"spec.podFailurePolicy.rules[{i.ToString(CultureInfo.InvariantCulture)}]";
                var action = Json.Str(rule["action"]);
                if (action is not ("FailJob" or "FailIndex" or "Ignore" or "Count"))
                {
                    errors.Add(($"{field}.action", $"Unsupported value: \"{action}\": supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\""));
                }
                else if (action == "FailIndex" && !perIndex)
                {
                    errors.Add(($"{field}.action", "Invalid value: \"FailIndex\": requires the backoffLimitPerIndex to be set"));
                }

                if ((rule["onExitCodes"] is null) == (rule["onPodConditions"] is null))
                {
                    errors.Add((field, "Invalid value: specifying one of OnExitCodes and OnPodConditions is required"));
                }

                if (rule["onExitCodes"] is JsonObject codes && Json.Str(codes["operator"]) is not ("In" or "NotIn"))
                {
                    errors.Add(($"{field}.onExitCodes.operator", "Unsupported value: supported values: \"In\", \"NotIn\""));
                }

                i++;
            }
        }

        var containers = Json.Objects(podSpec["containers"]).ToList();
        if (containers.Count == 0)
        {
            errors.Add(("spec.template.spec.containers", "Required value"));
        }

        for (var c = 0; c < containers.Count; c++)
        {
            var field = $"spec.template.spec.containers[{c.ToString(CultureInfo.InvariantCulture)}]";
            if (string.IsNullOrEmpty(Json.Str(containers[c]["name"])))
            {
                errors.Add(($"{field}.name", "Required value"));
            }

            if (string.IsNullOrEmpty(Json.Str(containers[c]["image"])))
            {
                errors.Add(($"{field}.image", "Required value"));
            }
        }

        return errors;
    }

    /// <summary>The fake's own checks of a Workflow: names, and what its controller can run.</summary>
    public static List<(string Field, string Message)> Workflow(JsonObject workflow)
    {
        var errors = new List<(string, string)>();
        ValidateName(workflow, MaxWorkflowNameLength, errors);
        if (workflow["spec"] is not JsonObject spec)
        {
            errors.Add(("spec", "Required value"));
            return errors;
        }

        var templates = Json.Objects(spec["templates"]).ToList();
        var names = templates.Select(t => Json.Str(t["name"]) ?? "").ToHashSet(StringComparer.Ordinal);
        var entrypoint = Json.Str(spec["entrypoint"]);
        if (string.IsNullOrEmpty(entrypoint))
        {
            errors.Add(("spec.entrypoint", "Required value"));
        }
        else if (!names.Contains(entrypoint))
        {
            errors.Add(("spec.entrypoint", $"Invalid value: \"{entrypoint}\": template not found"));
        }

        if (Json.Str(spec["onExit"]) is { } onExit && !names.Contains(onExit))
        {
            errors.Add(("spec.onExit", $"Invalid value: \"{onExit}\": template not found"));
        }

        foreach (var template in templates)
        {
            var name = Json.Str(template["name"]) ?? "";
            var field = $"spec.templates[{name}]";
            var kinds = new[] { "container", "steps", "dag", "script", "resource", "suspend", "containerSet", "data", "http", "plugin" }
                .Where(k => template[k] is not null).ToList();
            if (kinds.Count != 1)
            {
                errors.Add((field, "Invalid value: a template must have exactly one of container, steps, dag, script, resource, suspend"));
            }
            else if (kinds[0] is not ("container" or "steps"))
            {
                errors.Add((field, $"Invalid value: {kinds[0]} templates are not supported by the fake server"));
            }

            if (template["retryStrategy"]?["expression"] is { } expression && !TryParseRetryExpression(Json.Str(expression), out _))
            {
                errors.Add(($"{field}.retryStrategy.expression", $"Invalid value: \"{Json.Str(expression)}\": expression not supported by the fake server (only asInt(lastRetry.exitCode) != N)"));
            }

            if (template["retryStrategy"]?["limit"] is { } limit && !Json.IsNumberOrNumericString(limit))
            {
                errors.Add(($"{field}.retryStrategy.limit", $"Invalid value: {limit.ToJsonString()}: not an integer (expressions are not supported by the fake server)"));
            }

            if (template["steps"] is JsonArray groups)
            {
                foreach (var step in groups.OfType<JsonArray>().SelectMany(g => g.OfType<JsonObject>()))
                {
                    foreach (var unsupported in new[] { "when", "withParam", "continueOn", "onExit", "templateRef", "inline" })
                    {
                        if (step[unsupported] is not null)
                        {
                            errors.Add(($"{field}.steps[{Json.Str(step["name"])}].{unsupported}", "Invalid value: not supported by the fake server"));
                        }
                    }

                    var target = Json.Str(step["template"]);
                    if (target is null || !names.Contains(target))
                    {
                        errors.Add(($"{field}.steps[{Json.Str(step["name"])}].template", $"Invalid value: \"{target}\": template not found"));
                    }
                }
            }
        }

        return errors;
    }

    /// <summary>Parses the one retry expression the fake supports: <c>asInt(lastRetry.exitCode) != N</c>.</summary>
    public static bool TryParseRetryExpression(string? expression, out int exitCode)
    {
        exitCode = 0;
        var match = expression is null ? null : RetryExpression().Match(expression);
        return match is { Success: true }
            && int.TryParse(match.Groups[1].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exitCode);
    }

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex(@"^\s*asInt\(\s*lastRetry\.exitCode\s*\)\s*!=\s*(-?\d+)\s*$")]
    private static partial Regex RetryExpression();
}
