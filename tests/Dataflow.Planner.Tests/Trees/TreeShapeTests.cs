namespace Dataflow.Planner.Tests.Trees;

public sealed class TreeShapeTests
{
    public static TheoryData<int> FanIns => new() { 2, 3, 4, 5, 6, 7, 8, 9 };

    [Theory]
    [MemberData(nameof(FanIns))]
    public void LevelWidths_FanIn_EachLevelIsTheCeilingOfTheLevelBelowOverFanInDownToOne(int k)
    {
        for (var n = 1; n <= 5000; n++)
        {
            var widths = TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { FanIn = k }, n);

            string Where() => $"n={n} k={k} widths=[{string.Join(",", widths)}]";
            if (widths.Count == 0 || widths[^1] != 1)
            {
                Assert.Fail($"{Where()}: does not end in 1");
            }

            var below = n;
            for (var level = 0; level < widths.Count; level++)
            {
                var expected = (below + k - 1) / k;
                if (widths[level] != expected)
                {
                    Assert.Fail($"{Where()}: level {level + 1} has {widths[level]} tasks, expected ceil({below}/{k}) = {expected}");
                }

                if (level < widths.Count - 1 && widths[level] == 1)
                {
                    Assert.Fail($"{Where()}: a level of one task before the last");
                }

                below = widths[level];
            }
        }
    }

    [Theory]
    [InlineData(1, 2, new[] { 1 })]
    [InlineData(2, 2, new[] { 1 })]
    [InlineData(3, 2, new[] { 2, 1 })]
    [InlineData(9, 3, new[] { 3, 1 })]
    [InlineData(10, 3, new[] { 4, 2, 1 })]
    [InlineData(1000, 3, new[] { 334, 112, 38, 13, 5, 2, 1 })]
    [InlineData(1024, 2, new[] { 512, 256, 128, 64, 32, 16, 8, 4, 2, 1 })]
    [InlineData(1025, 2, new[] { 513, 257, 129, 65, 33, 17, 9, 5, 3, 2, 1 })]
    [InlineData(512, 8, new[] { 64, 8, 1 })]
    [InlineData(513, 8, new[] { 65, 9, 2, 1 })]
    [InlineData(5, 100, new[] { 1 })]
    public void LevelWidths_KnownCases_MatchByHand(int n, int k, int[] expected)
    {
        Assert.Equal(expected, TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { FanIn = k }, n));
    }

    [Fact]
    public void LevelWidths_Widths_ReturnedAsGiven()
    {
        var widths = TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { Widths = [64, 8, 1] }, 512);

        Assert.Equal([64, 8, 1], widths);
    }

    [Theory]
    [InlineData(1, new[] { 1 })]
    [InlineData(5, new[] { 5, 1 })]
    [InlineData(5, new[] { 1 })]
    public void LevelWidths_FirstWidthUpToInputCount_Accepted(int n, int[] widths)
    {
        Assert.Equal(widths, TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { Widths = widths }, n));
    }

    [Theory]
    [InlineData(1, new[] { 2, 1 })]
    [InlineData(5, new[] { 6, 1 })]
    [InlineData(511, new[] { 512, 64, 1 })]
    public void LevelWidths_FirstWidthAboveInputCount_ThrowsNamingJob(int n, int[] widths)
    {
        var ex = Assert.Throws<JobDefinitionException>(() => TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { Widths = widths }, n));

        Assert.Equal("shape-job", ex.JobName);
        Assert.StartsWith("job 'shape-job': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"the first level has {widths[0]} tasks but there are only {n} inputs", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, null)]
    [InlineData(null, new[] { 4, 4, 1 })]
    [InlineData(null, null)]
    public void LevelWidths_InvalidShape_ThrowsNamingJob(int? fanIn, int[]? widths)
    {
        var ex = Assert.Throws<JobDefinitionException>(() => TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { FanIn = fanIn, Widths = widths }, 100));

        Assert.Equal("shape-job", ex.JobName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void LevelWidths_NoInputs_ThrowsArgumentOutOfRange(int n)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TreeShape.LevelWidths("shape-job", new ReduceTreeOptions { FanIn = 2 }, n));
    }

    [Fact]
    public void BalancedStarts_ManyCountsAndGroups_GroupsAreContiguousBalancedLargerFirst()
    {
        for (var count = 1; count <= 400; count++)
        {
            for (var groups = 1; groups <= count; groups++)
            {
                CheckBalancedStarts(count, groups);
            }
        }

        var random = new Random(42);
        for (var i = 0; i < 2000; i++)
        {
            var count = random.Next(1, 1_000_000);
            CheckBalancedStarts(count, random.Next(1, Math.Min(count, 5000) + 1));
        }
    }

    private static void CheckBalancedStarts(int count, int groups)
    {
        var starts = TreeShape.BalancedStarts(count, groups);

        if (starts.Length != groups + 1 || starts[0] != 0 || starts[groups] != count)
        {
            Assert.Fail($"count={count} groups={groups}: starts [{string.Join(",", starts)}] do not run from 0 to {count} in {groups} groups");
        }

        // Sizes differ by at most one, so they are ⌊count/groups⌋ or one more; the larger come first.
        var small = count / groups;
        var larger = count % groups;
        for (var g = 0; g < groups; g++)
        {
            var size = starts[g + 1] - starts[g];
            var expected = g < larger ? small + 1 : small;
            if (size != expected || size < 1)
            {
                Assert.Fail($"count={count} groups={groups}: group {g} has {size} items, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData(10, 1, new[] { 0, 10 })]
    [InlineData(10, 3, new[] { 0, 4, 7, 10 })]
    [InlineData(10, 10, new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })]
    [InlineData(7, 2, new[] { 0, 4, 7 })]
    [InlineData(512, 64, null)]
    public void BalancedStarts_KnownCases_MatchByHand(int count, int groups, int[]? expected)
    {
        expected ??= Enumerable.Range(0, groups + 1).Select(g => g * count / groups).ToArray();

        Assert.Equal(expected, TreeShape.BalancedStarts(count, groups));
    }

    [Theory]
    [InlineData(5, 0)]
    [InlineData(5, -1)]
    [InlineData(5, 6)]
    [InlineData(0, 1)]
    public void BalancedStarts_InvalidArguments_ThrowArgumentOutOfRange(int count, int groups)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TreeShape.BalancedStarts(count, groups));
    }
}
