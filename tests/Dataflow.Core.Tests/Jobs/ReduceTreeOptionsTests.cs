namespace Dataflow.Core.Tests.Jobs;

public sealed class ReduceTreeOptionsTests
{
    public static TheoryData<int?, int[]?> ValidShapes => new()
    {
        { 2, null },
        { 3, null },
        { int.MaxValue, null },
        { null, [1] },
        { null, [2, 1] },
        { null, [64, 8, 1] },
        { null, [1000, 999, 1] },
    };

    [Theory]
    [MemberData(nameof(ValidShapes))]
    public void Validate_ValidShape_DoesNotThrow(int? fanIn, int[]? widths)
    {
        var shape = new ReduceTreeOptions { FanIn = fanIn, Widths = widths };

        var ex = Record.Exception(() => shape.Validate("shape-job"));

        Assert.Null(ex);
    }

    public static TheoryData<int?, int[]?, string> InvalidShapes => new()
    {
        { null, null, "needs a fan-in or a list of widths" },
        { 2, [1], "not both" },
        { 1, null, "the fan-in must be at least 2 (got 1)" },
        { 0, null, "the fan-in must be at least 2 (got 0)" },
        { int.MinValue, null, $"the fan-in must be at least 2 (got {int.MinValue})" },
        { null, [], "the list of widths is empty" },
        { null, [64, 64, 1], "level 2 has 64 after 64" },
        { null, [2, 3, 1], "level 2 has 3 after 2" },
        { null, [9, 5, 5], "level 3 has 5 after 5" },
        { null, [2], "but the last is 2" },
        { null, [5, 3], "but the last is 3" },
        { null, [0], "width 0 at level 1 is not positive" },
        { null, [3, -1], "width -1 at level 2 is not positive" },
    };

    [Theory]
    [MemberData(nameof(InvalidShapes))]
    public void Validate_InvalidShape_ThrowsNamingJobAndProblem(int? fanIn, int[]? widths, string problem)
    {
        var shape = new ReduceTreeOptions { FanIn = fanIn, Widths = widths };

        var ex = Assert.Throws<JobDefinitionException>(() => shape.Validate("shape-job"));

        Assert.Equal("shape-job", ex.JobName);
        Assert.StartsWith("job 'shape-job': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }
}
