namespace Dataflow.Worker.Tests.Workers;

public sealed class TaskWorkerTests
{
    [Theory]
    [InlineData("7", 7, 7)]
    [InlineData("0", 0, 0)]
    [InlineData("0-99", 0, 99)]
    [InlineData("5-5", 5, 5)]
    [InlineData("1000-1999", 1000, 1999)]
    public void ParseRange_IndexOrRange_Parses(string text, int first, int last)
    {
        Assert.Equal((first, last), TaskWorker.ParseRange(text));
    }

    [Theory]
    [InlineData("5-3")]
    [InlineData("x")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData("1-")]
    [InlineData("-")]
    [InlineData("1-2-3")]
    [InlineData(" 1")]
    [InlineData("+1")]
    [InlineData("1_000")]
    [InlineData("99999999999")]
    public void ParseRange_NotARange_ThrowsFormatExceptionNamingIt(string text)
    {
        var error = Assert.Throws<FormatException>(() => TaskWorker.ParseRange(text));

        Assert.Contains($"'{text}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseReport_OnlyReportLinesParse()
    {
        var line = TaskWorker.ReportPrefix + """{"task":"1/2","status":"committed","attemptId":"a01-00000001","bytesRead":10,"bytesWritten":20}""";

        var report = TaskWorker.ParseReport(line);

        Assert.Equal(new WorkerReport(new TaskId(1, 2), "committed", "a01-00000001", 10, 20), report);
        Assert.Null(TaskWorker.ParseReport("some log line"));
        Assert.Null(TaskWorker.ParseReport(TaskWorker.ReportPrefix + "{ not json"));
    }
}
