using System.Text;

namespace Dataflow.Hosting.Tests.Ui;

/// <summary>
/// The watcher's commit record reader against the serializer's (<see cref="RunRecords.DeserializeCommitRecord"/>):
/// on the records the runtime writes it reads the same without the serializer, and on damaged records — a list of
/// damages and thousands of random ones — it reads what the serializer reads and refuses what it refuses, with the
/// same error.
/// </summary>
public sealed class WatchedRecordsTests : IDisposable
{
    private const string Key = "runs/r/commits/batch-000001.json";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Read_RecordsOfARealRun_TakesTheFastPathAndReadsWhatTheSerializerReads()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 24, size: 10);
        var job = Job.Named("watched").FromPrefix("input/").ReduceTree(3, new CopyConcatOperator()).WriteTo("output/merged.txt");
        var result = await new JobRunner(store, new JobRunnerOptions { Concurrency = 2 }).RunAsync(job);
        var keys = await store.ListAsync(new RunLayout(result.Summary.RunId).CommitsPrefix).Select(i => i.Key).ToListAsync();
        Assert.NotEmpty(keys);

        var markers = 0;
        foreach (var key in keys)
        {
            var bytes = await store.ReadAllBytesAsync(key);
            var fast = WatchedRecords.TryReadFast(bytes);
            Assert.NotNull(fast);
            AssertSame(RunRecords.DeserializeCommitRecord(bytes, key), fast);
            markers += fast.Markers.Count;
        }

        Assert.Equal(result.Plan.TaskCount, markers);
    }

    [Fact]
    public void Read_WritersRecordsOfEveryKind_ReadsWhatTheSerializerReads()
    {
        foreach (var (name, record, fastPath) in Records())
        {
            var bytes = RunRecords.Serialize(record);
            Assert.True(fastPath == WatchedRecords.TryReadFast(bytes) is not null, $"{name}: fast path {!fastPath}");
            AssertSame(RunRecords.DeserializeCommitRecord(bytes, Key), WatchedRecords.Read(bytes, Key));
        }
    }

    [Theory]
    [InlineData("truncated", null)]
    [InlineData("\"markers\":[", "\"markers\":[null,")]
    [InlineData("\"attemptId\":\"a1-0\",", "")]
    [InlineData("\"attemptId\":\"a1-0\"", "\"attemptId\":null")]
    [InlineData("\"attempt\":1", "\"attempt\":\"1\"")]
    [InlineData("\"attempt\":1", "\"attempt\":1.5")]
    [InlineData("\"durationMs\":7", "\"durationMs\":null")]
    [InlineData("\"task\":\"0/0\"", "\"task\":\"0-0\"")]
    [InlineData("\"task\":\"0/0\"", "\"task\":null")]
    [InlineData("\"committedAt\":\"", "\"committedAt\":\"x")]
    [InlineData("\"outputs\":[", "\"outputs\":[null,")]
    [InlineData("\"outputs\":[{\"name\":\"out\"", "\"outputs\":[{\"name\":null")]
    [InlineData("\"size\":100", "\"size\":\"100\"")]
    [InlineData("\"key\":\"runs/r/data/out-0\",", "")]
    [InlineData("\"key\":\"runs/r/data/out-0\"", "\"key\":null")]
    [InlineData("\"key\":\"runs/r/data/out-0\"", "\"key\":\"runs/r/data/\\u00e9\"")]
    [InlineData("\"key\":\"runs/r/data/out-0\"", "\"key\":\"runs/r/data/\\ud800\"")]
    [InlineData("\"key\":\"runs/r/data/out-0\"", "\"key\":\"runs/r/data/out-0\",\"segments\":[]")]
    [InlineData("\"consumed\":[", "\"consumed\":[null,")]
    [InlineData("\"consumed\":[{", "\"consumed\":[{\"extra\":[1,{}],")]
    [InlineData("\"output\":\"out\"", "\"output\":null")]
    [InlineData("\"output\":\"out\",", "")]
    [InlineData("\"consumed\":[{\"task\":\"0/0\"", "\"consumed\":[{\"task\":\"0/0\",\"task\":\"0/1\"")]
    [InlineData("\"schemaVersion\":1", "\"schemaVersion\":2")]
    [InlineData("\"schemaVersion\":1,", "")]
    [InlineData("\"schemaVersion\":1", "\"schemaVersion\":null")]
    [InlineData("\"runId\":\"r\"", "\"runId\":null")]
    [InlineData("\"runId\":\"r\"", "\"RunId\":\"r\"")]
    [InlineData("\"runId\":\"r\"", "\"run\\u0049d\":\"r\"")]
    [InlineData("\"runId\":\"r\"", "\"runId\":\"r\",\"unknown\":{\"a\":[1,2]}")]
    [InlineData("\"worker\":\"w-1\"", "\"worker\":7")]
    [InlineData("\"bytesRead\":100", "\"bytesRead\":null")]
    [InlineData("\"bytesRead\":100", "\"bytesRead\":1e3")]
    [InlineData("\"markers\":[", "\"setAside\":[null],\"markers\":[")]
    [InlineData("\"markers\":[", "\"shard\":{\"stage\":\"0\"},\"markers\":[")]
    [InlineData("\"markers\":[", "\"shard\":null,\"markers\":[")]
    public void Read_DamagedRecord_ReadsOrRefusesAsTheSerializer(string find, string? replace)
    {
        var text = Encoding.UTF8.GetString(RunRecords.Serialize(Plain()));
        if (replace is null)
        {
            text = text[..(text.Length / 2)];
        }
        else
        {
            Assert.Contains(find, text, StringComparison.Ordinal);
            var at = text.IndexOf(find, StringComparison.Ordinal);
            text = text[..at] + replace + text[(at + find.Length)..];
        }

        AssertSameOutcome(Encoding.UTF8.GetBytes(text));
    }

    [Fact]
    public void Read_RandomlyDamagedRecords_ReadOrRefuseAsTheSerializer()
    {
        var random = new Random(17);
        foreach (var (_, record, _) in Records())
        {
            var original = RunRecords.Serialize(record);
            for (var n = 0; n < 1500; n++)
            {
                var bytes = original.ToArray();
                switch (n % 4)
                {
                    case 0:
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                        break;
                    case 1:
                        bytes[random.Next(bytes.Length)] = (byte)"{}[]\",:0n-. \\e"[random.Next(14)];
                        break;
                    case 2:
                        var at = random.Next(bytes.Length);
                        bytes = [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + random.Next(1, 12))..]];
                        break;
                    default:
                        var from = random.Next(bytes.Length);
                        var to = random.Next(bytes.Length);
                        bytes = [.. bytes[..to], .. bytes[from..Math.Min(bytes.Length, from + random.Next(1, 30))], .. bytes[to..]];
                        break;
                }

                AssertSameOutcome(bytes);
            }
        }
    }

    /// <summary>A batch record of two plain markers, as the local driver writes them.</summary>
    private static CommitRecord Plain() => new()
    {
        RunId = "r",
        Markers = [Marker(0, 0), Marker(1, 0) with { Worker = null, BytesRead = null, BytesWritten = null }],
    };

    private static CommitMarker Marker(int stage, int index) => new()
    {
        Task = new TaskId(stage, index),
        AttemptId = $"a1-{index}",
        Attempt = 1,
        CommittedAt = new DateTimeOffset(2026, 12, 3, 23, 0, 0, 123, TimeSpan.Zero),
        DurationMs = 7,
        Worker = "w-1",
        Outputs = [new CommittedOutput { Name = "out", Size = 100, Key = $"runs/r/data/out-{index}", Checksum = "xxh3:0123456789abcdef" }],
        BytesRead = 100,
        BytesWritten = 100,
        Consumed = stage == 0 ? [] : [new ConsumedArtifact(new TaskId(0, 0), "out", "a1-0")],
    };

    private static IEnumerable<(string Name, CommitRecord Record, bool FastPath)> Records()
    {
        yield return ("plain", Plain(), true);
        yield return ("cached", new CommitRecord { RunId = "r", Markers = [Marker(0, 3) with { AttemptId = "c-3", Attempt = 0, CachedFrom = new string('a', 64) }] }, true);
        yield return ("set aside", new CommitRecord { RunId = "r", Markers = [], SetAside = [new SetAsideCommit(new TaskId(0, 1), "a1-1", "output missing", DateTimeOffset.UnixEpoch)] }, true);
        yield return ("shard", new CommitRecord { RunId = "r", Markers = [Marker(0, 4), Marker(0, 5)], Shard = new ShardRun(0, 4, 6, [new TaskId(0, 6)], Permanent: true) }, true);
        yield return ("empty", new CommitRecord { RunId = "r", Markers = [] }, true);
        yield return ("reference", new CommitRecord
        {
            RunId = "r",
            Markers = [Marker(1, 0) with { Outputs = [new CommittedOutput { Name = "out", Size = 20, Segments = [new ObjectSegment("runs/r/data/a", 0, 10), new ObjectSegment("runs/r/data/b", 0, 10)] }] }],
        }, false);
        yield return ("staged", new CommitRecord
        {
            RunId = "r",
            Markers = [Marker(1, 0) with { Outputs = [new CommittedOutput { Name = "out", Size = 20, Key = "output/x", ETag = "\"e\"", Staged = new StagedObject("output/x", "u-1", "r", 20, []) }] }],
        }, false);
    }

    private static void AssertSameOutcome(byte[] bytes)
    {
        CommitRecord? expected = null;
        string? refused = null;
        try
        {
            expected = RunRecords.DeserializeCommitRecord(bytes, Key);
        }
        catch (InvalidDataException ex)
        {
            refused = ex.Message;
        }

        var text = Encoding.UTF8.GetString(bytes);
        if (refused is not null)
        {
            Assert.True(WatchedRecords.TryReadFast(bytes) is null, "read what the serializer refuses: " + text);
            var ex = Assert.Throws<InvalidDataException>(() => WatchedRecords.Read(bytes, Key));
            Assert.Equal(refused, ex.Message);
        }
        else
        {
            var actual = WatchedRecords.Read(bytes, Key);
            AssertSame(expected!, actual, text);
            if (WatchedRecords.TryReadFast(bytes) is { } fast)
            {
                AssertSame(expected!, fast, text);
            }
        }
    }

    private static void AssertSame(CommitRecord expected, WatchedRecord actual, string? text = null)
    {
        var because = text is null ? "" : " in " + text;
        Assert.True(expected.RunId == actual.RunId, "run id" + because);
        Assert.True(expected.Markers.Select(WatchedMarker.Of).SequenceEqual(actual.Markers), "markers" + because);
        Assert.True((expected.SetAside is null) == (actual.SetAside is null) && (expected.SetAside ?? []).SequenceEqual(actual.SetAside ?? []), "set aside" + because);
        Assert.True((expected.Shard is null) == (actual.Shard is null), "shard" + because);
        if (expected.Shard is { } shard)
        {
            // A shard without its failed tasks is read with none (null), as the serializer reads it.
            Assert.True(shard with { Failed = [] } == actual.Shard! with { Failed = [] } && (shard.Failed ?? []).SequenceEqual(actual.Shard.Failed ?? []), "shard" + because);
        }
    }
}
