using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Dataflow.Testing;

/// <summary>
/// A strict validator of Argo Workflows against the official schema of Argo Workflows v4.1
/// (a copy in <c>Schemas/argo-workflows-v4.1-schema.json</c>, see its README), as <c>argo lint</c> would refuse them and a little
/// stricter: every definition with <c>properties</c> gets <c>additionalProperties: false</c>, so that a misspelt field
/// (<c>withSequnce</c>, <c>retryStrategy.limt</c>) is an error instead of being silently ignored.
/// </summary>
/// <remarks>
/// The schema file is found through the environment variable <c>DATAFLOW_ARGO_SCHEMA</c>, else as the copy kept in
/// this library (copied next to the tests), else by walking up from <see cref="AppContext.BaseDirectory"/> to a
/// folder holding <c>shared/schemas/argo-workflows-v4.1-schema.json</c>.
/// It is read and built once, on first use; validation is thread-safe. Quirks of the schema handled here:
/// unknown keywords (<c>x-kubernetes-*</c>) are allowed, and IntOrString and Quantity accept integers (and numbers
/// for Quantity) as the Kubernetes API does, since the schema declares them strings only.
/// </remarks>
public static class ArgoSchema
{
    /// <summary>The environment variable that may name the schema file.</summary>
    public const string SchemaPathVariable = "DATAFLOW_ARGO_SCHEMA";

    private const string SchemaFileName = "argo-workflows-v4.1-schema.json";
    private const string WorkflowDefinition = "io.argoproj.workflow.v1alpha1.Workflow";

    private static readonly Lazy<JsonSchema> s_schema = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Validates <paramref name="workflow"/> as an Argo Workflow in strict mode.</summary>
    /// <param name="workflow">The workflow as a JSON tree (e.g. parsed from its YAML or JSON).</param>
    /// <returns>The errors, each as "instance path: message"; empty when the workflow is valid.</returns>
    /// <exception cref="FileNotFoundException">The schema file cannot be found.</exception>
    public static IReadOnlyList<string> ValidateWorkflow(JsonNode workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        using var document = JsonDocument.Parse(workflow.ToJsonString());
        var results = s_schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        var errors = new List<string>();
        foreach (var detail in results.Details ?? [])
        {
            if (detail.IsValid || detail.Errors is null)
            {
                continue;
            }

            foreach (var (keyword, message) in detail.Errors)
            {
                var path = detail.InstanceLocation.ToString();
                errors.Add($"{(path.Length == 0 ? "/" : path)}: {Explain(keyword, message)} (schema {detail.EvaluationPath})");
            }
        }

        if (errors.Count == 0)
        {
            errors.Add("/: the workflow does not match the schema");
        }

        return errors.Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The path of the schema file in use.</summary>
    /// <exception cref="FileNotFoundException">The schema file cannot be found.</exception>
    public static string FindSchemaFile()
    {
        if (Environment.GetEnvironmentVariable(SchemaPathVariable) is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? configured
                : throw new FileNotFoundException($"{SchemaPathVariable} names '{configured}', which does not exist", configured);
        }

        // The copy kept in this library (Schemas/, copied next to the tests), else the team's shared folder.
        var kept = Path.Combine(AppContext.BaseDirectory, "Schemas", SchemaFileName);
        if (File.Exists(kept))
        {
            return kept;
        }

        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "shared", "schemas", SchemaFileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            $"the Argo Workflows schema '{SchemaFileName}' was not found in {Path.GetDirectoryName(kept)} nor in a folder shared/schemas above {AppContext.BaseDirectory} "
            + $"(the repository's ../shared); set {SchemaPathVariable} to its path",
            SchemaFileName);
    }

    /// <summary>The schema made strict: the transformation applied before building it (visible for tests).</summary>
    internal static JsonObject MakeStrict(JsonObject schema)
    {
        var definitions = schema["definitions"]?.AsObject()
            ?? throw new InvalidDataException("the Argo schema has no definitions");
        foreach (var (name, node) in definitions)
        {
            if (node is JsonObject definition && definition.ContainsKey("properties") && !definition.ContainsKey("additionalProperties"))
            {
                definition["additionalProperties"] = false;
            }
        }

        // Kubernetes accepts integers for IntOrString (retryStrategy.limit: 3) and numbers for Quantity (cpu: 2).
        definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = new JsonObject { ["type"] = new JsonArray("string", "integer") };
        definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = new JsonObject { ["type"] = new JsonArray("string", "number") };
        if (!definitions.ContainsKey(WorkflowDefinition))
        {
            throw new InvalidDataException($"the Argo schema has no definition {WorkflowDefinition}");
        }

        // The root accepts any of Argo's kinds; validate the Workflow only. A base URI of our own keeps the strict
        // copy apart from anything registered under the official $id.
        schema.Remove("oneOf");
        schema.Remove("type");
        schema["$id"] = "https://dataflow.invalid/schemas/argo-workflows-v4.1-strict.json";
        schema["$ref"] = "#/definitions/" + WorkflowDefinition;
        return schema;
    }

    private static JsonSchema Build()
    {
        var path = FindSchemaFile();
        var schema = JsonNode.Parse(File.ReadAllText(path))?.AsObject()
            ?? throw new InvalidDataException($"'{path}' holds no JSON object");
        var strict = MakeStrict(schema);
        return JsonSchema.FromText(strict.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry(), Dialect = Dialect.Draft202012 });
    }

    private static string Explain(string keyword, string message) => keyword switch
    {
        "additionalProperties" or "falseSchema" or "" => $"unknown field ({message})",
        _ => $"{keyword}: {message}",
    };
}
