using System.Globalization;

namespace Dataflow.Core;

/// <summary>A task's identity within a plan: its stage (0-based) and its index within the stage (0-based).</summary>
/// <remarks>Plans and run records store it as the string <c>"stage/index"</c>, e.g. <c>"2/17"</c>.</remarks>
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
