namespace Dataflow.Core;

/// <summary>
/// The shape of a reduce tree: either a fan-in (every task of a level reduces up to <see cref="FanIn"/> objects
/// of the level below) or an explicit list of level widths (tasks per level, e.g. 256, 128, …, 1).
/// Exactly one of the two must be set.
/// </summary>
public sealed class ReduceTreeOptions
{
    /// <summary>Objects reduced by one task; at least 2. Levels are added until one task remains.</summary>
    public int? FanIn { get; init; }

    /// <summary>Tasks per level, strictly decreasing and ending in 1; the first may not exceed the input count.</summary>
    public IReadOnlyList<int>? Widths { get; init; }

    /// <summary>Checks the shape on its own (not against an input count) and throws for <paramref name="jobName"/>.</summary>
    /// <exception cref="JobDefinitionException">Neither or both are set, the fan-in is below 2, or the widths do not strictly decrease to 1.</exception>
    public void Validate(string jobName)
    {
        if (FanIn is null && Widths is null)
        {
            throw new JobDefinitionException(jobName, "the reduce tree needs a fan-in or a list of widths");
        }

        if (FanIn is not null && Widths is not null)
        {
            throw new JobDefinitionException(jobName, "the reduce tree takes a fan-in or a list of widths, not both");
        }

        if (FanIn is { } fanIn && fanIn < 2)
        {
            throw new JobDefinitionException(jobName, $"the fan-in must be at least 2 (got {fanIn})");
        }

        if (Widths is { } widths)
        {
            if (widths.Count == 0)
            {
                throw new JobDefinitionException(jobName, "the list of widths is empty; it must end in 1, e.g. 256,128,...,1");
            }

            for (var i = 0; i < widths.Count; i++)
            {
                if (widths[i] < 1)
                {
                    throw new JobDefinitionException(jobName, $"width {widths[i]} at level {i + 1} is not positive");
                }

                if (i > 0 && widths[i] >= widths[i - 1])
                {
                    throw new JobDefinitionException(jobName, $"widths must strictly decrease, but level {i + 1} has {widths[i]} after {widths[i - 1]}");
                }
            }

            if (widths[^1] != 1)
            {
                throw new JobDefinitionException(jobName, $"widths must end in 1 (a single final task), but the last is {widths[^1]}");
            }
        }
    }

    /// <summary>Parses a comma-separated list of level widths, e.g. <c>256,128,64,32,16,8,4,2,1</c> (as a command line gives them).</summary>
    /// <exception cref="FormatException">An item is not a non-negative whole number.</exception>
    public static IReadOnlyList<int> ParseWidths(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var widths = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out widths[i]))
            {
                throw new FormatException($"'{text}' is not a comma-separated list of task counts, e.g. 256,128,64,32,16,8,4,2,1");
            }
        }

        return widths;
    }

    /// <inheritdoc />
    public override string ToString() => FanIn is { } k ? $"fan-in {k}" : $"widths {string.Join(',', Widths ?? [])}";
}
