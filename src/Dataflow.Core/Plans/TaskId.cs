using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataflow.Core;

/// <summary>A task's identity within a plan: its stage (0-based) and its index within the stage (0-based).</summary>
/// <remarks>Serialized as the string <c>"stage/index"</c>, e.g. <c>"2/17"</c>.</remarks>
[JsonConverter(typeof(TaskIdJsonConverter))]
public readonly record struct TaskId(int Stage, int Index) : IComparable<TaskId>
{
    /// <inheritdoc />
    public int CompareTo(TaskId other) => Stage != other.Stage ? Stage.CompareTo(other.Stage) : Index.CompareTo(other.Index);

    /// <summary>The compact form, <c>"stage/index"</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Stage}/{Index}");

    /// <summary>Parses the compact form <c>"stage/index"</c>.</summary>
    /// <exception cref="FormatException">The text is not two non-negative integers separated by '/'.</exception>
    public static TaskId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a task id of the form stage/index");
    }

    /// <summary>Parses the compact form <c>"stage/index"</c>.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out TaskId id)
    {
        id = default;
        var slash = text.IndexOf('/');
        if (slash <= 0
            || !int.TryParse(text[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var stage)
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return false;
        }

        id = new TaskId(stage, index);
        return true;
    }

    /// <inheritdoc />
    public static bool operator <(TaskId left, TaskId right) => left.CompareTo(right) < 0;

    /// <inheritdoc />
    public static bool operator >(TaskId left, TaskId right) => left.CompareTo(right) > 0;

    /// <inheritdoc />
    public static bool operator <=(TaskId left, TaskId right) => left.CompareTo(right) <= 0;

    /// <inheritdoc />
    public static bool operator >=(TaskId left, TaskId right) => left.CompareTo(right) >= 0;
}

/// <summary>Reads and writes <see cref="TaskId"/> as <c>"stage/index"</c>.</summary>
/// <summary>
/// Writes a <see cref="TaskId"/> as the string <c>"stage/index"</c> and reads it back: the form plans and run records
/// store (applied by <see cref="TaskId"/>'s <see cref="JsonConverterAttribute"/>).
/// </summary>
public sealed class TaskIdJsonConverter : JsonConverter<TaskId>
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
