using System.Text.Json.Nodes;

namespace Dataflow.Testing;

/// <summary>An error answer, carried to the HTTP edge as a <c>Status</c> object the way the API server writes it.</summary>
internal sealed class ApiStatusException(int code, string reason, string message, JsonObject? details = null)
    : Exception(message)
{
    public int Code { get; } = code;

    public JsonObject ToStatus() => ApiStatus.Failure(Code, reason, Message, details);

    public static ApiStatusException NotFound(ResourceKind kind, string name) =>
        new(404, "NotFound", $"{kind.QualifiedPlural} \"{name}\" not found", ApiStatus.Details(kind, name));

    public static ApiStatusException AlreadyExists(ResourceKind kind, string name) =>
        new(409, "AlreadyExists", $"{kind.QualifiedPlural} \"{name}\" already exists", ApiStatus.Details(kind, name));

    public static ApiStatusException BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiStatusException Invalid(ResourceKind kind, string name, IReadOnlyList<(string Field, string Message)> errors)
    {
        var causes = new JsonArray();
        foreach (var (field, message) in errors)
        {
            causes.Add(new JsonObject { ["reason"] = "FieldValueInvalid", ["message"] = message, ["field"] = field });
        }

        var details = ApiStatus.Details(kind, name);
        details["causes"] = causes;
        var list = errors.Select(e => e.Field.Length == 0 ? e.Message : $"{e.Field}: {e.Message}").ToList();
        var text = list.Count == 1 ? list[0] : $"[{string.Join(", ", list)}]";
        return new(422, "Invalid", $"{kind.QualifiedKind} \"{name}\" is invalid: {text}", details);
    }
}

internal static class ApiStatus
{
    public static JsonObject Failure(int code, string reason, string message, JsonObject? details = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["code"] = code,
        };
        if (details is not null)
        {
            status["details"] = details;
        }

        return status;
    }

    public static JsonObject Success(ResourceKind kind, string name, string? uid)
    {
        var details = Details(kind, name);
        if (uid is not null)
        {
            details["uid"] = uid;
        }

        return new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["details"] = details,
        };
    }

    public static JsonObject Details(ResourceKind kind, string name) => new()
    {
        ["name"] = name,
        ["group"] = kind.Group,
        ["kind"] = kind.Plural,
    };
}
