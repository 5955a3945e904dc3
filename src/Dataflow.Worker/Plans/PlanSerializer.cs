using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>Writes and reads plans as versioned JSON (System.Text.Json, source-generated).</summary>
internal static class PlanSerializer
{
    /// <summary>The plan as compact UTF-8 JSON.</summary>
    public static byte[] SerializeToUtf8Bytes(Plan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return JsonSerializer.SerializeToUtf8Bytes(plan, PlanJsonContext.Default.Plan);
    }

    /// <summary>The plan as JSON text.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="indented">Indent for people to read.</param>
    public static string Serialize(Plan plan, bool indented = false)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return JsonSerializer.Serialize(plan, indented ? PlanJsonContext.Indented.Plan : PlanJsonContext.Default.Plan);
    }

    /// <summary>Writes the plan as compact UTF-8 JSON to <paramref name="destination"/>.</summary>
    public static Task SerializeAsync(Plan plan, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(destination);
        return JsonSerializer.SerializeAsync(destination, plan, PlanJsonContext.Default.Plan, cancellationToken);
    }

    /// <summary>Reads a plan from JSON text.</summary>
    /// <exception cref="InvalidDataException">The text is not a plan, or its schema version is newer than this library's.</exception>
    public static Plan Deserialize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Check(Parse(() => JsonSerializer.Deserialize(json, PlanJsonContext.Default.Plan)));
    }

    /// <summary>Reads a plan from UTF-8 JSON.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a plan, or its schema version is newer than this library's.</exception>
    public static Plan Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        Plan? plan;
        try
        {
            plan = JsonSerializer.Deserialize(utf8Json, PlanJsonContext.Default.Plan);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"not a Dataflow plan: {ex.Message}", ex);
        }

        return Check(plan);
    }

    /// <summary>Reads a plan from a stream of UTF-8 JSON.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a plan, or its schema version is newer than this library's.</exception>
    public static async Task<Plan> DeserializeAsync(Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        Plan? plan;
        try
        {
            plan = await JsonSerializer.DeserializeAsync(source, PlanJsonContext.Default.Plan, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"not a Dataflow plan: {ex.Message}", ex);
        }

        return Check(plan);
    }

    /// <summary>A stored plan's index, chunk or input chunk as compact UTF-8 JSON.</summary>
    public static byte[] SerializePart<T>(T part)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(part);
        return JsonSerializer.SerializeToUtf8Bytes(part, PartInfo<T>());
    }

    /// <summary>Reads a stored plan's index, chunk or input chunk.</summary>
    /// <exception cref="InvalidDataException">The bytes are not one, or (for an index) its schema version is not known.</exception>
    public static T DeserializePart<T>(ReadOnlySpan<byte> utf8Json)
        where T : class
    {
        T? part;
        try
        {
            part = JsonSerializer.Deserialize(utf8Json, PartInfo<T>());
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"not a Dataflow {typeof(T).Name}: {ex.Message}", ex);
        }

        if (part is null)
        {
            throw new InvalidDataException($"not a Dataflow {typeof(T).Name}: the JSON is null");
        }

        if (part is PlanIndex { SchemaVersion: < PlanIndex.OldestChunkedSchemaVersion or > PlanIndex.CurrentSchemaVersion } index)
        {
            throw new InvalidDataException(
                $"the plan index of run '{index.RunId}' (job '{index.Job}') has schema version {index.SchemaVersion}; this Dataflow ({DataflowInfo.Version}) reads versions 1 to {PlanIndex.CurrentSchemaVersion}: resume the run with the Dataflow that planned it ({index.DataflowVersion})");
        }

        return part;
    }

    /// <summary>The <c>schemaVersion</c> of a stored plan or plan index, or 0 when the JSON has none at its top level.</summary>
    public static int PeekSchemaVersion(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return 0;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isVersion = reader.ValueTextEquals("schemaVersion"u8);
                reader.Read();
                if (isVersion)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var version) ? version : 0;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return 0;
    }

    private static System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> PartInfo<T>() =>
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)(PlanJsonContext.Default.GetTypeInfo(typeof(T))
            ?? throw new ArgumentException($"{typeof(T).Name} is not a part of a stored plan", nameof(T)));

    private static Plan? Parse(Func<Plan?> parse)
    {
        try
        {
            return parse();
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"not a Dataflow plan: {ex.Message}", ex);
        }
    }

    private static Plan Check(Plan? plan)
    {
        if (plan is null)
        {
            throw new InvalidDataException("not a Dataflow plan: the JSON is null");
        }

        if (plan.SchemaVersion > Plan.CurrentSchemaVersion || plan.SchemaVersion < 1)
        {
            throw new InvalidDataException(
                $"the plan of job '{plan.Job}' has schema version {plan.SchemaVersion}; this Dataflow ({DataflowInfo.Version}) reads version {Plan.CurrentSchemaVersion}");
        }

        // System.Text.Json does not apply nullable annotations to collection elements: refuse the nulls a plan never has.
        if (NullElement(plan) is { } list)
        {
            throw new InvalidDataException($"not a Dataflow plan: the plan of job '{plan.Job}' has a null element in {list}");
        }

        return plan;
    }

    private static string? NullElement(Plan plan)
    {
        if (plan.Inputs.Contains(null!))
        {
            return "inputs";
        }

        if (plan.Outputs.Contains(null!))
        {
            return "outputs";
        }

        if (plan.Arguments?.Contains(null!) == true)
        {
            return "arguments";
        }

        for (var s = 0; s < plan.Stages.Count; s++)
        {
            if (plan.Stages[s] is not { } stage)
            {
                return "stages";
            }

            for (var t = 0; t < stage.Tasks.Count; t++)
            {
                if (stage.Tasks[t] is not { } task)
                {
                    return $"the tasks of stage {s}";
                }

                if (task.Inputs.Contains(null!) || task.Outputs.Contains(null!))
                {
                    return $"the inputs or outputs of task {new TaskId(s, t)}";
                }
            }
        }

        return null;
    }
}

[JsonSourceGenerationOptions(
    Converters = [typeof(TaskIdJsonConverter)],
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(Plan))]
[JsonSerializable(typeof(PlanIndex))]
[JsonSerializable(typeof(PlanChunk))]
[JsonSerializable(typeof(PlanInputChunk))]
internal sealed partial class PlanJsonContext : JsonSerializerContext
{
    private static PlanJsonContext? s_indented;

    public static PlanJsonContext Indented => s_indented ??= new PlanJsonContext(new JsonSerializerOptions(Default.Options) { WriteIndented = true });
}
