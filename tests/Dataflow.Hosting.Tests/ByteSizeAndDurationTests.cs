namespace Dataflow.Hosting.Tests;

public sealed class ByteSizeAndDurationTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512", 512L)]
    [InlineData("512B", 512L)]
    [InlineData("64KiB", 64L * 1024)]
    [InlineData("8MiB", 8L << 20)]
    [InlineData("8 mib", 8L << 20)]
    [InlineData("3GiB", 3L << 30)]
    [InlineData("2TiB", 2L << 40)]
    public void Parse_ValidSizes_GiveBytes(string text, long expected) => Assert.Equal(expected, ByteSize.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("8MB")]
    [InlineData("1.5MiB")]
    [InlineData("lots")]
    [InlineData("99999999999TiB")]
    public void Parse_InvalidSizes_Throw(string text) => Assert.Throws<FormatException>(() => ByteSize.Parse(text));

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1023L, "1023 B")]
    [InlineData(1024L, "1.0 KiB")]
    [InlineData(3L << 29, "1.5 GiB")]
    public void Format_Sizes_ReadForPeople(long bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("2d", 172_800_000)]
    [InlineData("00:01:00", 60_000)]
    public void Parse_ValidDurations_GiveTimeSpans(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Duration.Parse(text));

    [Fact]
    public void Parse_Infinite_GivesInfiniteTimeSpan() => Assert.Equal(Timeout.InfiniteTimeSpan, Duration.Parse("infinite"));

    [Theory]
    [InlineData("")]
    [InlineData("0s")]
    [InlineData("-5s")]
    [InlineData("soon")]
    [InlineData("5w")]
    [InlineData("d")]
    public void Parse_InvalidDurations_Throw(string text) => Assert.Throws<FormatException>(() => Duration.Parse(text));
}
