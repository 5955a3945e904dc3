using System.Text;
using System.Text.Json.Nodes;

namespace Dataflow.Worker.Tests.Runs;

public sealed class RunRecordsTests
{
    private static CommitRecord Record() => new()
    {
        RunId = "20261129-024455-3fa2c1",
        Markers =
        [
            new CommitMarker
            {
                Task = new TaskId(0, 3),
                AttemptId = "a01-9c0f33d2",
                Attempt = 1,
                CommittedAt = new DateTimeOffset(2026, 11, 29, 2, 44, 56, TimeSpan.FromHours(-7)).AddTicks(42),
                DurationMs = 1500,
                Outputs = [new CommittedOutput { Name = "out", Size = 4096, Key = "_dataflow/runs/20261129-024455-3fa2c1/data/s0000/t000003.a01-9c0f33d2.out", Checksum = "xxh3:00ff00ff00ff00ff" }],
                Consumed = [],
            },
            new CommitMarker
            {
                Task = new TaskId(1, 0),
                AttemptId = "a02-00000001",
                Attempt = 2,
                CommittedAt = DateTimeOffset.UnixEpoch,
                DurationMs = 0,
                Outputs =
                [
                    new CommittedOutput { Name = "out", Size = 7, Segments = [new ObjectSegment("in/ü", 0, 4), new ObjectSegment("in/b", 10, 3)] },
                    new CommittedOutput { Name = "empty", Size = 0, Segments = [] },
                ],
                Consumed = [new ConsumedArtifact(new TaskId(0, 3), "out", "a01-9c0f33d2"), new ConsumedArtifact(new TaskId(0, 4), "out", "a03-deadbeef")],
            },
        ],
    };

    private static RunSummary Summary(string? output, string? error) => new()
    {
        RunId = "run-1",
        Job = "merge-files",
        Verified = output is not null,
        Stages = 7,
        Tasks = 505,
        TasksRun = 500,
        TasksSkipped = 5,
        Attempts = 503,
        Retries = 3,
        Failed = error is null ? 0 : 1,
        WallMs = 123456,
        BytesRead = long.MaxValue,
        BytesWritten = 1L << 40,
        Output = output,
        IntermediateObjectsLeft = 0,
        Status = error is null ? "succeeded" : "failed",
        Error = error,
    };

    [Fact]
    public void CommitRecord_SerializeThenDeserialize_RoundTripsEveryField()
    {
        var record = Record();

        var bytes = RunRecords.Serialize(record);
        var read = RunRecords.DeserializeCommitRecord(bytes, "commits/x.json");

        Assert.Equal(bytes, RunRecords.Serialize(read));
        Assert.Equal(record.SchemaVersion, read.SchemaVersion);
        Assert.Equal(record.RunId, read.RunId);
        Assert.Equal(record.Markers.Count, read.Markers.Count);
        for (var m = 0; m < record.Markers.Count; m++)
        {
            var expected = record.Markers[m];
            var actual = read.Markers[m];
            Assert.Equal(expected.Task, actual.Task);
            Assert.Equal(expected.AttemptId, actual.AttemptId);
            Assert.Equal(expected.Attempt, actual.Attempt);
            Assert.Equal(expected.CommittedAt, actual.CommittedAt);
            Assert.Equal(expected.CommittedAt.Offset, actual.CommittedAt.Offset);
            Assert.Equal(expected.DurationMs, actual.DurationMs);
            Assert.Equal(expected.Consumed, actual.Consumed);
            Assert.Equal(expected.Outputs.Count, actual.Outputs.Count);
            for (var o = 0; o < expected.Outputs.Count; o++)
            {
                var e = expected.Outputs[o];
                var a = actual.Outputs[o];
                Assert.Equal(e.Name, a.Name);
                Assert.Equal(e.Size, a.Size);
                Assert.Equal(e.Key, a.Key);
                Assert.Equal(e.Checksum, a.Checksum);
                Assert.Equal(e.IsReference, a.IsReference);
                Assert.Equal(e.AsSegments(), a.AsSegments());
            }
        }
    }

    [Fact]
    public void CommitRecord_Serialize_WritesTaskIdsCompactlyAndOmitsNulls()
    {
        var json = JsonNode.Parse(RunRecords.Serialize(Record()))!;

        Assert.Equal("0/3", (string)json["markers"]![0]!["task"]!);
        var data = json["markers"]![0]!["outputs"]![0]!.AsObject();
        Assert.False(data.ContainsKey("segments"));
        var reference = json["markers"]![1]!["outputs"]![0]!.AsObject();
        Assert.False(reference.ContainsKey("key"));
        Assert.False(reference.ContainsKey("checksum"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public void DeserializeCommitRecord_UnsupportedSchemaVersion_ThrowsNamingKey(int version)
    {
        var node = JsonNode.Parse(RunRecords.Serialize(Record()))!;
        node["schemaVersion"] = version;

        var ex = Assert.Throws<InvalidDataException>(() => RunRecords.DeserializeCommitRecord(Encoding.UTF8.GetBytes(node.ToJsonString()), "commits/s0000/t000001.a01.json"));

        Assert.Contains("'commits/s0000/t000001.a01.json'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"schema version {version}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"runId":"r"}""")]
    [InlineData("""{"runId":"r","markers":[{"task":"x"}]}""")]
    [InlineData("""{"schemaVersion":1,"runId":"r","markers":[null]}""")]
    [InlineData("""{"schemaVersion":1,"runId":"r","markers":[{"task":"0/0","attemptId":"a01-1","attempt":1,"committedAt":"2026-01-01T00:00:00Z","durationMs":1,"outputs":[null],"consumed":[]}]}""")]
    [InlineData("""{"schemaVersion":1,"runId":"r","markers":[{"task":"0/0","attemptId":"a01-1","attempt":1,"committedAt":"2026-01-01T00:00:00Z","durationMs":1,"outputs":[{"name":"out","size":1}],"consumed":[]}]}""")]
    public void DeserializeCommitRecord_NotARecord_ThrowsNamingKey(string json)
    {
        var ex = Assert.Throws<InvalidDataException>(() => RunRecords.DeserializeCommitRecord(Encoding.UTF8.GetBytes(json), "commits/bad.json"));

        Assert.Contains("'commits/bad.json'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("file:///tmp/out.txt", null)]
    [InlineData(null, "task 1/0 failed: boom")]
    [InlineData(null, null)]
    public void RunSummary_SerializeThenDeserialize_RoundTripsEveryField(string? output, string? error)
    {
        var summary = Summary(output, error);

        var bytes = RunRecords.Serialize(summary);
        var read = RunRecords.DeserializeSummary(bytes);

        Assert.Equal(summary, read); // only scalar members: record equality compares every field
        Assert.Equal(bytes, RunRecords.Serialize(read));
    }

    [Fact]
    public void RunSummary_IndentedAndCompact_ParseToTheSameSummary()
    {
        var summary = Summary("file:///tmp/out.txt", null);

        var compact = RunRecords.Serialize(summary);
        var indented = RunRecords.Serialize(summary, indented: true);

        Assert.NotEqual(compact, indented);
        Assert.Contains((byte)'\n', indented);
        Assert.Equal(RunRecords.DeserializeSummary(compact), RunRecords.DeserializeSummary(indented));
    }

    [Fact]
    public void RunSummary_NullOutputAndError_AreWrittenAsNull()
    {
        var json = JsonNode.Parse(RunRecords.Serialize(Summary(null, null)))!.AsObject();

        Assert.True(json.ContainsKey("output"));
        Assert.True(json.ContainsKey("error"));
        Assert.Null(json["output"]);
        Assert.Null(json["error"]);
        Assert.Equal("succeeded", (string)json["status"]!);
        Assert.Equal(long.MaxValue, (long)json["bytesRead"]!);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("{")]
    [InlineData("{}")]
    [InlineData("[1]")]
    public void DeserializeSummary_NotASummary_ThrowsInvalidDataException(string json)
    {
        Assert.Throws<InvalidDataException>(() => RunRecords.DeserializeSummary(Encoding.UTF8.GetBytes(json)));
    }
}
