namespace Dataflow.Core.Tests.Plans;

public sealed class TaskIdTests
{
    [Theory]
    [InlineData(0, 0, "0/0")]
    [InlineData(2, 17, "2/17")]
    [InlineData(10, 999999, "10/999999")]
    [InlineData(int.MaxValue, int.MaxValue, "2147483647/2147483647")]
    public void ToString_StageAndIndex_FormatsAsStageSlashIndex(int stage, int index, string text)
    {
        Assert.Equal(text, new TaskId(stage, index).ToString());
    }

    [Theory]
    [InlineData("0/0", 0, 0)]
    [InlineData("2/17", 2, 17)]
    [InlineData("007/08", 7, 8)]
    [InlineData("2147483647/2147483647", int.MaxValue, int.MaxValue)]
    public void Parse_ValidText_ReturnsStageAndIndex(string text, int stage, int index)
    {
        Assert.Equal(new TaskId(stage, index), TaskId.Parse(text));
        Assert.True(TaskId.TryParse(text, out var id));
        Assert.Equal(new TaskId(stage, index), id);
    }

    [Fact]
    public void Parse_FormattedIds_RoundTrip()
    {
        var random = new Random(7);
        for (var i = 0; i < 1000; i++)
        {
            var id = new TaskId(random.Next(), random.Next());
            Assert.Equal(id, TaskId.Parse(id.ToString()));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("1")]
    [InlineData("1/")]
    [InlineData("/1")]
    [InlineData("a/b")]
    [InlineData("1/b")]
    [InlineData("-1/2")]
    [InlineData("1/-2")]
    [InlineData("+1/2")]
    [InlineData(" 1/2")]
    [InlineData("1/2 ")]
    [InlineData("1 /2")]
    [InlineData("1/2/3")]
    [InlineData("1.0/2")]
    [InlineData("1:2")]
    [InlineData("2147483648/0")]
    [InlineData("0/99999999999")]
    [InlineData("١/٢")] // Arabic-Indic digits
    public void Parse_InvalidText_ThrowsFormatExceptionNamingText(string text)
    {
        Assert.False(TaskId.TryParse(text, out var id));
        Assert.Equal(default, id);
        var ex = Assert.Throws<FormatException>(() => TaskId.Parse(text));
        Assert.Contains($"'{text}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => TaskId.Parse(null!));
    }

    [Fact]
    public void CompareTo_Ids_OrdersByStageThenIndex()
    {
        TaskId[] ordered = [new(0, 0), new(0, 1), new(0, 10), new(1, 0), new(1, 2), new(2, 0)];

        for (var i = 0; i < ordered.Length; i++)
        {
            for (var j = 0; j < ordered.Length; j++)
            {
                var a = ordered[i];
                var b = ordered[j];
                Assert.Equal(Math.Sign(i.CompareTo(j)), Math.Sign(a.CompareTo(b)));
                Assert.Equal(i < j, a < b);
                Assert.Equal(i <= j, a <= b);
                Assert.Equal(i > j, a > b);
                Assert.Equal(i >= j, a >= b);
                Assert.Equal(i == j, a == b);
            }
        }
    }
}
