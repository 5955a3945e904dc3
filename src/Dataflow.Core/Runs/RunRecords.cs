using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataflow.Runs;

/// <summary>Reads and writes a run's small records (commit markers, summaries) as JSON.</summary>
public static class RunRecords
{
    /// <summary>The marker as UTF-8 JSON.</summary>
    public static byte[] Serialize(CommitMarker marker) => JsonSerializer.SerializeToUtf8Bytes(marker, RunJsonContext.Default.CommitMarker);

    /// <summary>The summary as UTF-8 JSON, indented when <paramref name="indented"/>.</summary>
    public static byte[] Serialize(RunSummary summary, bool indented = false) =>
        JsonSerializer.SerializeToUtf8Bytes(summary, indented ? RunJsonContext.Indented.RunSummary : RunJsonContext.Default.RunSummary);

    /// <summary>Reads a commit marker.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a commit marker of a version this library reads.</exception>
    public static CommitMarker DeserializeMarker(ReadOnlySpan<byte> utf8Json, string key)
    {
        CommitMarker? marker;
        try
        {
            marker = JsonSerializer.Deserialize(utf8Json, RunJsonContext.Default.CommitMarker);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"commit marker '{key}' is not valid JSON: {ex.Message}", ex);
        }

        if (marker is null || marker.SchemaVersion is < 1 or > CommitMarker.CurrentSchemaVersion)
        {
            throw new InvalidDataException($"commit marker '{key}' has schema version {marker?.SchemaVersion}; this Dataflow reads version {CommitMarker.CurrentSchemaVersion}");
        }

        return marker;
    }

    /// <summary>Reads a run summary.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a run summary.</exception>
    public static RunSummary DeserializeSummary(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, RunJsonContext.Default.RunSummary)
                ?? throw new InvalidDataException("the run summary is null");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"not a run summary: {ex.Message}", ex);
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(CommitMarker))]
[JsonSerializable(typeof(RunSummary))]
internal sealed partial class RunJsonContext : JsonSerializerContext
{
    private static RunJsonContext? s_indented;

    public static RunJsonContext Indented => s_indented ??= new RunJsonContext(new JsonSerializerOptions(Default.Options) { WriteIndented = true });
}
