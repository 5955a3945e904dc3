using System.Text;
using System.Text.Json.Nodes;

namespace Dataflow.Worker.Tests.Plans;

public sealed class PlanSerializerTests
{
    public static TheoryData<string> Plans => new() { "small", "planner n=1", "planner n=2 k=2", "planner n=1000 k=3", "planner n=513 k=8" };

    private static Plan Make(string name) => name switch
    {
        "small" => TestPlans.Small(),
        "planner n=1" => TestPlans.FromPlanner(1, 2),
        "planner n=2 k=2" => TestPlans.FromPlanner(2, 2),
        "planner n=1000 k=3" => TestPlans.FromPlanner(1000, 3),
        "planner n=513 k=8" => TestPlans.FromPlanner(513, 8),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Plans))]
    public void Serialize_ThenDeserialize_RoundTripsExactly(string name)
    {
        var plan = Make(name);

        var json = PlanSerializer.Serialize(plan);
        var read = PlanSerializer.Deserialize(json);
        var again = PlanSerializer.Serialize(read);

        Assert.Equal(json, again);
        PlanAssert.Equal(plan, read);
        PlanValidator.Validate(read);
    }

    [Theory]
    [MemberData(nameof(Plans))]
    public void SerializeToUtf8Bytes_ThenDeserialize_RoundTripsExactly(string name)
    {
        var plan = Make(name);

        var bytes = PlanSerializer.SerializeToUtf8Bytes(plan);
        var read = PlanSerializer.Deserialize(bytes);

        Assert.Equal(bytes, PlanSerializer.SerializeToUtf8Bytes(read));
        Assert.Equal(PlanSerializer.Serialize(plan), Encoding.UTF8.GetString(bytes));
        PlanAssert.Equal(plan, read);
    }

    [Theory]
    [MemberData(nameof(Plans))]
    public async Task SerializeAsync_ThenDeserializeAsync_RoundTripsExactly(string name)
    {
        var plan = Make(name);
        using var stream = new MemoryStream();

        await PlanSerializer.SerializeAsync(plan, stream);
        stream.Position = 0;
        var read = await PlanSerializer.DeserializeAsync(stream);

        Assert.Equal(PlanSerializer.SerializeToUtf8Bytes(plan), stream.ToArray());
        PlanAssert.Equal(plan, read);
    }

    [Theory]
    [MemberData(nameof(Plans))]
    public void Deserialize_IndentedAndCompact_ParseToTheSamePlan(string name)
    {
        var plan = Make(name);

        var compact = PlanSerializer.Serialize(plan);
        var indented = PlanSerializer.Serialize(plan, indented: true);
        var fromCompact = PlanSerializer.Deserialize(compact);
        var fromIndented = PlanSerializer.Deserialize(indented);

        Assert.NotEqual(compact, indented);
        Assert.DoesNotContain('\n', compact);
        Assert.Contains('\n', indented);
        PlanAssert.Equal(fromCompact, fromIndented);
        Assert.Equal(compact, PlanSerializer.Serialize(fromIndented));
        Assert.Equal(indented, PlanSerializer.Serialize(fromCompact, indented: true));
    }

    [Theory]
    [InlineData(CacheMode.On, "On")]
    [InlineData(CacheMode.ReadOnly, "ReadOnly")]
    public void Serialize_PlanWithTheCache_WritesTheModeByNameAndReadsItBack(CacheMode mode, string written)
    {
        var plan = TestPlans.Small() with { Cache = mode };

        var json = JsonNode.Parse(PlanSerializer.Serialize(plan))!.AsObject();

        Assert.Equal(written, (string)json["cache"]!);
        Assert.Equal(mode, PlanSerializer.Deserialize(PlanSerializer.Serialize(plan)).Cache);
        Assert.Equal(CacheMode.Off, PlanSerializer.Deserialize(PlanSerializer.Serialize(TestPlans.Small())).Cache);
    }

    [Fact]
    public void Serialize_SmallPlan_WritesCamelCaseSchemaWithCompactTaskIds()
    {
        var json = JsonNode.Parse(PlanSerializer.Serialize(TestPlans.Small()))!.AsObject();

        Assert.Equal(
            ["schemaVersion", "dataflowVersion", "job", "runId", "createdAt", "inputs", "stages", "outputs"],
            json.Select(p => p.Key));
        Assert.Equal(1, (int)json["schemaVersion"]!);
        Assert.Equal("plan-job", (string)json["job"]!);
        Assert.Equal("2026-11-29T02:44:55.1234567+05:30", (string)json["createdAt"]!);
        Assert.Equal("""{"key":"in/b","size":0}""", json["inputs"]![1]!.ToJsonString());
        var task = json["stages"]![1]!["tasks"]![0]!;
        Assert.Equal("""{"task":"0/0","output":"out"}""", task["inputs"]![0]!.ToJsonString());
        Assert.Equal("""["0/1","0/0"]""", task["dependsOn"]!.ToJsonString());
        Assert.Equal("""{"key":"in/a"}""", json["stages"]![0]!["tasks"]![0]!["inputs"]![0]!.ToJsonString());
        Assert.Equal("""{"key":"result/all","task":"1/0","output":"out"}""", json["outputs"]![0]!.ToJsonString());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(99)]
    [InlineData(0)]
    [InlineData(-1)]
    public void Deserialize_UnsupportedSchemaVersion_ThrowsNamingVersionAndJob(int version)
    {
        var json = SetMember(PlanSerializer.Serialize(TestPlans.Small()), "schemaVersion", version);

        var ex = Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(json));

        Assert.Contains($"schema version {version}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'plan-job'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"reads version {Plan.CurrentSchemaVersion}", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Deserialize_NoSchemaVersion_Refused()
    {
        // The serializer always writes the version; a document without one reads as version 0, which no reader accepts.
        var node = JsonNode.Parse(PlanSerializer.Serialize(TestPlans.Small()))!.AsObject();
        node.Remove("schemaVersion");

        var ex = Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(node.ToJsonString()));

        Assert.Contains("schema version 0", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$")]
    [InlineData("$.stages[0]")]
    [InlineData("$.stages[0].tasks[1]")]
    [InlineData("$.stages[1].tasks[0].inputs[0]")]
    [InlineData("$.inputs[2]")]
    [InlineData("$.outputs[0]")]
    public void Deserialize_UnknownMember_ThrowsInvalidDataException(string where)
    {
        var root = JsonNode.Parse(PlanSerializer.Serialize(TestPlans.Small()))!;
        var target = where.Split('.').Skip(1).Aggregate(root, (node, step) =>
        {
            var bracket = step.IndexOf('[', StringComparison.Ordinal);
            return bracket < 0 ? node[step]! : node[step[..bracket]]![int.Parse(step[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture)]!;
        });
        target.AsObject().Add("priority", 5);
        var json = root.ToJsonString();

        var ex = Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(json));

        Assert.Contains("priority", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("not a Dataflow plan", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(Encoding.UTF8.GetBytes(json)));
    }

    public static TheoryData<string> Garbage => new()
    {
        "",
        " ",
        "not json",
        "{",
        "[]",
        "42",
        "\"plan\"",
        "null",
        "{}",
        """{"job":"j"}""",
        Replace("\"job\":\"plan-job\"", "\"job\":null"),
        Replace("\"job\":\"plan-job\"", "\"job\":7"),
        Mutate(plan => plan["stages"] = null),
        Mutate(plan => plan.Remove("outputs")),
        Mutate(plan => plan["stages"]![0]!["tasks"]![0]!.AsObject().Remove("operator")),
        Mutate(plan => plan["outputs"]![0]!["task"] = null),
        Mutate(plan => plan["inputs"]![0]!.AsObject().Remove("size")),
        Replace("\"createdAt\":\"2026-11-29T02:44:55.1234567+05:30\"", "\"createdAt\":\"yesterday\""),
        Replace("\"task\":\"0/0\"", "\"task\":\"0-0\""),
        Replace("\"task\":\"0/0\"", "\"task\":\"-1/0\""),
        Replace("\"task\":\"0/0\"", "\"task\":0"),
        Replace("\"dependsOn\":[\"0/1\",\"0/0\"]", "\"dependsOn\":[\"0/1\",{}]"),
        Replace("\"size\":10", "\"size\":\"10\""),
        Replace("\"size\":10", "\"size\":1.5"),
        PlanSerializer.Serialize(TestPlans.Small())[..^1],
        PlanSerializer.Serialize(TestPlans.Small()) + "{}",
    };

    private static string Replace(string oldValue, string newValue)
    {
        var json = PlanSerializer.Serialize(TestPlans.Small());
        Assert.Contains(oldValue, json, StringComparison.Ordinal);
        return json.Replace(oldValue, newValue, StringComparison.Ordinal);
    }

    private static string Mutate(Action<JsonObject> change)
    {
        var node = JsonNode.Parse(PlanSerializer.Serialize(TestPlans.Small()))!.AsObject();
        change(node);
        return node.ToJsonString();
    }

    [Theory]
    [MemberData(nameof(Garbage))]
    public async Task Deserialize_NotAPlan_ThrowsInvalidDataException(string json)
    {
        var fromText = Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(json));
        var fromBytes = Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(Encoding.UTF8.GetBytes(json)));
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
        var fromStream = await Assert.ThrowsAsync<InvalidDataException>(() => PlanSerializer.DeserializeAsync(stream));

        Assert.StartsWith("not a Dataflow plan", fromText.Message, StringComparison.Ordinal);
        Assert.StartsWith("not a Dataflow plan", fromBytes.Message, StringComparison.Ordinal);
        Assert.StartsWith("not a Dataflow plan", fromStream.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serialize_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => PlanSerializer.Serialize(null!));
        Assert.Throws<ArgumentNullException>(() => PlanSerializer.SerializeToUtf8Bytes(null!));
        Assert.Throws<ArgumentNullException>(() => PlanSerializer.Deserialize((string)null!));
    }

    [Fact]
    public void Serialize_MapReducePlanWithSplits_RoundTripsExactly()
    {
        var job = Job.Named("mr-job").FromPrefix("in/").MapReduce(new MapReduceSpec<string, long, long>
        {
            Mapper = new NoMapper(),
            Reducer = new NoReducer(),
            Reducers = 3,
            SplitSize = 1024,
            MergedOutputKey = "out/all.tsv",
        }).WriteTo("out/counts/");
        var plan = JobPlanner.CreatePlan(job, [new("in/a.txt", 5000), new("in/b.gz", 9000), new("in/c.txt", 7)], "run-1", DateTimeOffset.UnixEpoch);

        var json = PlanSerializer.Serialize(plan);
        var back = PlanSerializer.Deserialize(json);

        Assert.Equal(json, PlanSerializer.Serialize(back));
        Assert.Contains("\"offset\":1024", json, StringComparison.Ordinal);
        PlanValidator.Validate(back, job);
        PlanAssert.Equal(plan, back);
    }

    private sealed class NoMapper : Mapper<string, long>
    {
        public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output) => throw new InvalidOperationException("serializer tests do not run tasks");
    }

    private sealed class NoReducer : Reducer<string, long, long>
    {
        public override long Reduce(string key, IReadOnlyList<long> values) => throw new InvalidOperationException("serializer tests do not run tasks");
    }

    private static string SetMember(string json, string name, int value)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        node[name] = value;
        return node.ToJsonString();
    }
}
