using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>Writes a <see cref="TaskId"/> as the string <c>"stage/index"</c> and reads it back: the form plans and run records store.</summary>
internal sealed class TaskIdJsonConverter : JsonConverter<TaskId>
{
    /// <inheritdoc />
    public override TaskId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return text is not null && TaskId.TryParse(text, out var id)
            ? id
            : throw new JsonException($"'{text}' is not a task id of the form stage/index");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, TaskId value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> buffer = stackalloc char[24];
        value.Stage.TryFormat(buffer, out var a, provider: CultureInfo.InvariantCulture);
        buffer[a] = '/';
        value.Index.TryFormat(buffer[(a + 1)..], out var b, provider: CultureInfo.InvariantCulture);
        writer.WriteStringValue(buffer[..(a + 1 + b)]);
    }
}
