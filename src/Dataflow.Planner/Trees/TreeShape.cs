using Dataflow.Core;

namespace Dataflow.Planner;

/// <summary>The arithmetic of reduce trees: how many tasks each level has, and how a level's inputs are grouped.</summary>
public static class TreeShape
{
    /// <summary>
    /// The number of tasks in each level for <paramref name="inputCount"/> inputs: with a fan-in k, ⌈n/k⌉ per level
    /// until one remains (a single input still gets one level of one task); with widths, the widths themselves.
    /// </summary>
    /// <exception cref="JobDefinitionException">The shape is invalid, or its first width exceeds the input count.</exception>
    public static IReadOnlyList<int> LevelWidths(string jobName, ReduceTreeOptions shape, int inputCount)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputCount, 1);
        shape.Validate(jobName);
        if (shape.Widths is { } widths)
        {
            if (widths[0] > inputCount)
            {
                throw new JobDefinitionException(jobName, $"the first level has {widths[0]} tasks but there are only {inputCount} inputs; each task needs at least one");
            }

            return widths;
        }

        var fanIn = shape.FanIn!.Value;
        var levels = new List<int>();
        var n = inputCount;
        do
        {
            n = (n - 1) / fanIn + 1; // ⌈n/k⌉ for n ≥ 1; (n + k - 1) / k overflows for large n or k
            levels.Add(n);
        }
        while (n > 1);
        return levels;
    }

    /// <summary>
    /// Splits <paramref name="count"/> consecutive items into <paramref name="groups"/> consecutive groups whose sizes
    /// differ by at most one (the larger groups first). Returns each group's start; group g spans
    /// [starts[g], starts[g + 1]) with starts[groups] = count.
    /// </summary>
    public static int[] BalancedStarts(int count, int groups)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, groups);
        var starts = new int[groups + 1];
        int size = count / groups, larger = count % groups;
        for (var g = 0; g < groups; g++)
        {
            starts[g + 1] = starts[g] + size + (g < larger ? 1 : 0);
        }

        return starts;
    }
}
