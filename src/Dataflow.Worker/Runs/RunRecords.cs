using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Dataflow.Worker;

/// <summary>Reads and writes a run's small records (commit markers, summaries, failure records) as JSON.</summary>
internal static class RunRecords
{
    /// <summary>The commit record as UTF-8 JSON.</summary>
    public static byte[] Serialize(CommitRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, RunJsonContext.Default.CommitRecord);

    /// <summary>The summary as UTF-8 JSON, indented when <paramref name="indented"/>.</summary>
    public static byte[] Serialize(RunSummary summary, bool indented = false) =>
        JsonSerializer.SerializeToUtf8Bytes(summary, indented ? RunJsonContext.SummaryIndented.RunSummary : RunJsonContext.Summary.RunSummary);

    /// <summary>The report as UTF-8 JSON, indented when <paramref name="indented"/>.</summary>
    public static byte[] Serialize(RunReport report, bool indented = false) =>
        JsonSerializer.SerializeToUtf8Bytes(report, indented ? RunJsonContext.Indented.RunReport : RunJsonContext.Default.RunReport);

    /// <summary>Reads a run report.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a run report of a version this library reads.</exception>
    public static RunReport DeserializeReport(ReadOnlySpan<byte> utf8Json)
    {
        RunReport? report;
        try
        {
            report = JsonSerializer.Deserialize(utf8Json, RunJsonContext.Default.RunReport);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"not a run report: {ex.Message}", ex);
        }

        if (report is null || report.SchemaVersion is < 1 or > RunReport.CurrentSchemaVersion)
        {
            throw new InvalidDataException($"the run report has schema version {report?.SchemaVersion}; this Dataflow reads version {RunReport.CurrentSchemaVersion}");
        }

        return report;
    }

    /// <summary>Reads a commit record stored under <paramref name="key"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a commit record of a version this library reads.</exception>
    public static CommitRecord DeserializeCommitRecord(ReadOnlySpan<byte> utf8Json, string key)
    {
        var record = Read(utf8Json, RunJsonContext.Default.CommitRecord, "commit record", key, r => r.SchemaVersion, CommitRecord.CurrentSchemaVersion);

        // System.Text.Json does not apply nullable annotations to collection elements: refuse the nulls a record never has.
        foreach (var marker in record.Markers)
        {
            if (marker is null || marker.Outputs.Contains(null!) || marker.Consumed.Contains(null!)
                || marker.Outputs.Any(o => o.Key is null == o.Segments is null))
            {
                throw new InvalidDataException($"commit record '{key}' has a null marker, output or consumed artifact, or an output that is neither data nor a reference");
            }
        }

        return record;
    }

    /// <summary>The cache entry as UTF-8 JSON.</summary>
    public static byte[] Serialize(CacheEntry entry) => JsonSerializer.SerializeToUtf8Bytes(entry, RunJsonContext.Default.CacheEntry);

    /// <summary>Reads a cache entry stored under <paramref name="key"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a cache entry of a version this library reads.</exception>
    public static CacheEntry DeserializeCacheEntry(ReadOnlySpan<byte> utf8Json, string key)
    {
        var entry = Read(utf8Json, RunJsonContext.Default.CacheEntry, "cache entry", key, e => e.SchemaVersion, CacheEntry.CurrentSchemaVersion);

        if (entry.Outputs.Contains(null!) || entry.Outputs.Any(o => o.Key is null == o.Segments is null))
        {
            throw new InvalidDataException($"cache entry '{key}' has a null output, or an output that is neither data nor a reference");
        }

        return entry;
    }

    /// <summary>The failure record as UTF-8 JSON.</summary>
    public static byte[] Serialize(FailureRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, RunJsonContext.Default.FailureRecord);

    /// <summary>Reads a failure record stored under <paramref name="key"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a failure record of a version this library reads.</exception>
    public static FailureRecord DeserializeFailure(ReadOnlySpan<byte> utf8Json, string key) =>
        Read(utf8Json, RunJsonContext.Default.FailureRecord, "failure record", key, r => r.SchemaVersion, FailureRecord.CurrentSchemaVersion);

    /// <summary>Reads a versioned record (<paramref name="what"/>, stored under <paramref name="key"/>) of a schema version this library reads.</summary>
    /// <exception cref="InvalidDataException">The bytes are not valid JSON, or of another schema version.</exception>
    private static T Read<T>(ReadOnlySpan<byte> utf8Json, JsonTypeInfo<T> type, string what, string key, Func<T, int> version, int current)
        where T : class
    {
        T? value;
        try
        {
            value = JsonSerializer.Deserialize(utf8Json, type);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{what} '{key}' is not valid JSON: {ex.Message}", ex);
        }

        return value is not null && version(value) is >= 1 and var v && v <= current
            ? value
            : throw new InvalidDataException($"{what} '{key}' has schema version {(value is null ? null : version(value))}; this Dataflow reads version {current}");
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
    Converters = [typeof(TaskIdJsonConverter)],
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(CommitRecord))]
[JsonSerializable(typeof(RunSummary))]
[JsonSerializable(typeof(RunReport))]
[JsonSerializable(typeof(CacheEntry))]
[JsonSerializable(typeof(FailureRecord))]
internal sealed partial class RunJsonContext : JsonSerializerContext
{
    private static RunJsonContext? s_indented;
    private static RunJsonContext? s_summary;
    private static RunJsonContext? s_summaryIndented;

    public static RunJsonContext Indented => s_indented ??= new RunJsonContext(new JsonSerializerOptions(Default.Options) { WriteIndented = true });

    /// <summary>
    /// For the summary as printed (<c>--json</c>) and stored (<c>summary.json</c>): text as written — an error's
    /// <c>'</c> stays <c>'</c>, not <c>\u0027</c>. JSON's own characters and control characters are still escaped;
    /// only the escaping for embedding in HTML is left out, and the summary is never put in a page this way (the
    /// report page embeds <c>report.json</c>, serialized with the default, HTML-safe escaping).
    /// </summary>
    public static RunJsonContext Summary => s_summary ??= new RunJsonContext(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary><see cref="Summary"/>, indented.</summary>
    public static RunJsonContext SummaryIndented => s_summaryIndented ??= new RunJsonContext(new JsonSerializerOptions(Summary.Options) { WriteIndented = true });
}
