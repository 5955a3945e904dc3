namespace Dataflow.Core.Tests.Objects;

public sealed class ObjectSegmentTests
{
    [Fact]
    public void Whole_KeyAndSize_SpansTheWholeObject()
    {
        var segment = ObjectSegment.Whole("a/b", 42);

        Assert.Equal(new ObjectSegment("a/b", 0, 42), segment);
        Assert.Equal("a/b[0..42)", segment.ToString());
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(10, 5)]
    [InlineData(long.MaxValue, 0)]
    [InlineData(0, long.MaxValue)]
    [InlineData(1, long.MaxValue - 1)]
    public void Validate_InRange_DoesNotThrow(long offset, long length)
    {
        var ex = Record.Exception(() => new ObjectSegment("k", offset, length).Validate());

        Assert.Null(ex);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, -1)]
    [InlineData(1, long.MaxValue)]
    [InlineData(long.MaxValue, 1)]
    public void Validate_OutOfRange_ThrowsArgumentOutOfRangeException(long offset, long length)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ObjectSegment("k", offset, length).Validate());
    }
}
