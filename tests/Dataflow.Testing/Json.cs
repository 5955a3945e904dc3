using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataflow.Testing;

/// <summary>Small reads of Kubernetes objects held as <see cref="JsonNode"/> trees.</summary>
internal static class Json
{
    /// <summary>Writes quotes as <c>\"</c> (not <c>\u0022</c>), as the API server's Go encoder does.</summary>
    public static readonly JsonSerializerOptions WriteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(JsonNode node) => node.ToJsonString(WriteOptions);

    public static string? Str(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        return value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        };
    }

    /// <summary>An integer written as a JSON number or as a string (Argo accepts both).</summary>
    public static long? Long(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        return value.GetValueKind() switch
        {
            JsonValueKind.Number when value.TryGetValue<long>(out var l) => l,
            JsonValueKind.Number when value.TryGetValue<double>(out var d) && d == Math.Floor(d) => (long)d,
            JsonValueKind.Number => long.TryParse(value.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : null,
            JsonValueKind.String => long.TryParse(value.GetValue<string>(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : null,
            _ => null,
        };
    }

    public static int? Int(JsonNode? node)
    {
        var l = Long(node);
        return l is null ? null : (int)Math.Clamp(l.Value, int.MinValue, int.MaxValue);
    }

    public static bool IsNumberOrNumericString(JsonNode? node) => node is null || Long(node) is not null;

    public static JsonObject Obj(JsonObject parent, string name)
    {
        if (parent[name] is JsonObject existing)
        {
            return existing;
        }

        var created = new JsonObject();
        parent[name] = created;
        return created;
    }

    public static IEnumerable<JsonObject> Objects(JsonNode? array) =>
        array is JsonArray a ? a.OfType<JsonObject>() : [];

    public static string Now() => Timestamp(DateTimeOffset.UtcNow);

    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Name(JsonObject obj) => Str(obj["metadata"]?["name"]) ?? "";

    public static IReadOnlyDictionary<string, string> Labels(JsonObject obj)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (obj["metadata"]?["labels"] is JsonObject map)
        {
            foreach (var (key, value) in map)
            {
                labels[key] = Str(value) ?? "";
            }
        }

        return labels;
    }
}
