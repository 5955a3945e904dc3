namespace Dataflow.Worker.Tests.Commits;

public sealed class CommitMarkerTests
{
    internal static CommitMarker Marker(string attemptId, params CommittedOutput[] outputs) => new()
    {
        Task = new TaskId(1, 2),
        AttemptId = attemptId,
        Attempt = 1,
        CommittedAt = new DateTimeOffset(2026, 11, 29, 2, 44, 55, TimeSpan.Zero),
        DurationMs = 12,
        Outputs = outputs,
        Consumed = [],
    };

    [Theory]
    [InlineData("a01-00000000", "a01-00000001")]
    [InlineData("a01-ffffffff", "a02-00000000")]
    [InlineData("a02-00000000", "a10-00000000")]
    [InlineData("B", "a")] // ordinal, not culture order: 'B' (0x42) < 'a' (0x61)
    [InlineData("a01", "a01-0")]
    [InlineData("Z", "\u00E9")]
    public void Wins_TwoAttempts_OrdinallySmallerAttemptIdWins(string smaller, string larger)
    {
        var winner = Marker(smaller);
        var loser = Marker(larger);

        Assert.True(winner.Wins(loser));
        Assert.False(loser.Wins(winner));
    }

    [Fact]
    public void Wins_SameAttemptId_NeitherWins()
    {
        Assert.False(Marker("a01-12345678").Wins(Marker("a01-12345678")));
    }

    [Fact]
    public void Wins_ManyAttempts_ExactlyOneWinsOverAllOthers()
    {
        var markers = new[] { "a03-00000000", "a01-ffffffff", "a01-0000000a", "a02-00000000", "A01-zzzzzzzz" }.Select(id => Marker(id)).ToArray();

        var winners = markers.Where(m => markers.All(other => ReferenceEquals(m, other) || m.Wins(other))).ToArray();

        Assert.Equal("A01-zzzzzzzz", Assert.Single(winners).AttemptId);
    }

    [Fact]
    public void Wins_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Marker("a").Wins(null!));
    }

    [Fact]
    public void GetOutput_ExistingAndMissingName_ReturnsOrThrowsNamingTaskAndOutput()
    {
        var output = new CommittedOutput { Name = "out", Size = 1, Key = "k" };
        var marker = Marker("a01-00000000", output);

        Assert.Same(output, marker.GetOutput("out"));
        var ex = Assert.Throws<InvalidDataException>(() => marker.GetOutput("side"));
        Assert.Contains("task 1/2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'a01-00000000'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no output 'side'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AsSegments_DataOutput_IsTheWholeObject()
    {
        var output = new CommittedOutput { Name = "out", Size = 1234, Key = "_dataflow/runs/r/data/s0000/t000000.a01-00000000.out", Checksum = "xxh3:0123456789abcdef" };

        var segment = Assert.Single(output.AsSegments());

        Assert.False(output.IsReference);
        Assert.Equal(new ObjectSegment(output.Key, 0, 1234), segment);
    }

    [Fact]
    public void AsSegments_EmptyDataOutput_IsOneEmptySegment()
    {
        var output = new CommittedOutput { Name = "out", Size = 0, Key = "k" };

        Assert.Equal([new ObjectSegment("k", 0, 0)], output.AsSegments());
    }

    [Fact]
    public void AsSegments_ReferenceOutput_IsItsSegmentsInOrder()
    {
        ObjectSegment[] segments = [new("in/b", 0, 10), new("in/a", 5, 3), new("in/b", 2, 0)];
        var output = new CommittedOutput { Name = "out", Size = 13, Segments = segments };

        Assert.True(output.IsReference);
        Assert.Equal(segments, output.AsSegments());
    }

    [Fact]
    public void AsSegments_EmptyReference_IsEmpty()
    {
        var output = new CommittedOutput { Name = "out", Size = 0, Segments = [] };

        Assert.True(output.IsReference);
        Assert.Empty(output.AsSegments());
    }
}
