namespace Dataflow.Worker.Tests.Plans;

public sealed class PlanChunkCodecTests
{
    [Fact]
    public void ReadTaskChunk_TasksOfEveryShape_AreTheTasksWritten()
    {
        var plan = MixedPlan();
        var index = PlanChunks.Index(plan, 3);
        var positions = Positions(plan);

        for (var s = 0; s < plan.Stages.Count; s++)
        {
            for (var c = 0; c < index.StageChunks(s); c++)
            {
                var bytes = PlanChunkCodec.WriteTaskChunk(plan, index, positions, s, c);
                var chunk = PlanChunkCodec.ReadTaskChunk(bytes);
                var whole = PlanChunkCodec.ReadTaskChunk(bytes, plan.Inputs);

                var expected = plan.Stages[s].Tasks.Skip(c * 3).Take(3).ToList();
                Assert.Equal(s, chunk.Stage);
                Assert.Equal(c * 3, chunk.First);
                AssertSameTasks(expected, chunk.Tasks);
                AssertSameTasks(expected, whole.Tasks);
                Assert.Empty(whole.Inputs);

                // The chunk carries every input its tasks read, with its size and entity tag, once.
                var read = expected.SelectMany(t => t.Inputs).Where(r => r.Key is not null).Select(r => r.Key!).Distinct().ToList();
                Assert.Equal(read.Select(k => plan.Inputs.Single(i => i.Key == k)), chunk.Inputs);
            }
        }
    }

    [Fact]
    public void ReadInputChunk_InputsWithAndWithoutEntityTags_AreTheInputsWritten()
    {
        var plan = MixedPlan();
        var index = PlanChunks.Index(plan, 2);

        var chunks = Enumerable.Range(0, index.InputChunks).Select(c => PlanChunkCodec.ReadInputChunk(PlanChunkCodec.WriteInputChunk(plan, index, c))).ToList();

        Assert.Equal(plan.Inputs, chunks.SelectMany(c => c.Inputs));
        Assert.Equal([0, 2], chunks.Select(c => c.First));
    }

    [Fact]
    public void WriteTaskChunk_DependenciesThatAreTheProducers_AreLeftOut()
    {
        var plan = MixedPlan();
        var index = PlanChunks.Index(plan, 10);

        var json = System.Text.Encoding.UTF8.GetString(PlanChunkCodec.WriteTaskChunk(plan, index, Positions(plan), 1, 0));

        // Task 1/0 depends on its producers (left out); 1/1 also waits for task 0/2, whose output it does not read.
        Assert.Contains("\"tasks\":[[0,0,[[0,0,0],[0,1,1]]],[1,1,[[0,1,0]],[0,1,0,2]]]", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"stage\":0,\"first\":0,\"operators\":[\"concat\"]")]
    [InlineData("{\"stage\":0,\"first\":0,\"operators\":[\"concat\"],\"outputs\":[[\"out\"]],\"names\":[],\"inputs\":{\"index\":[0],\"keys\":[\"a\"],\"sizes\":[1]},\"tasks\":[[0,0,[5]]]}")]
    [InlineData("{\"stage\":0,\"first\":0,\"operators\":[\"concat\"],\"outputs\":[[\"out\"]],\"names\":[],\"inputs\":{\"index\":[0],\"keys\":[\"a\"],\"sizes\":[1]},\"tasks\":[[3,0,[0]]]}")]
    [InlineData("{\"tasks\":[]}")]
    public void ReadTaskChunk_NotAChunk_IsRefusedAsInvalidData(string json)
    {
        var error = Assert.Throws<InvalidDataException>(() => PlanChunkCodec.ReadTaskChunk(System.Text.Encoding.UTF8.GetBytes(json)));

        Assert.StartsWith("not a Dataflow plan chunk", error.Message, StringComparison.Ordinal);
    }

    // Two operators, two output lists, ranges of a job input, entity tags on some inputs, a task reading two outputs
    // of one task, and dependencies beyond the producers.
    private static Plan MixedPlan()
    {
        PlanTask Task(string op, IReadOnlyList<ArtifactRef> inputs, IReadOnlyList<string> outputs, IReadOnlyList<TaskId> dependsOn) =>
            new() { Operator = op, Inputs = inputs, Outputs = outputs, DependsOn = dependsOn };
        string[] parts = ["p0", "p1"];
        var map = new[]
        {
            Task("map", [ArtifactRef.JobInput("in/a"), ArtifactRef.JobInput("in/b")], parts, []),
            Task("map", [ArtifactRef.JobInputRange("in/c", 0, 5), ArtifactRef.JobInputRange("in/c", 5, 5)], parts, []),
            Task("map", [ArtifactRef.JobInput("in/d"), ArtifactRef.JobInput("in/a")], ["p0", "p1"], []),
        };
        var reduce = new[]
        {
            Task("concat", [ArtifactRef.TaskOutput(new TaskId(0, 0), "p0"), ArtifactRef.TaskOutput(new TaskId(0, 1), "p1")], ["out"], [new TaskId(0, 0), new TaskId(0, 1)]),
            Task("map", [ArtifactRef.TaskOutput(new TaskId(0, 1), "p0")], parts, [new TaskId(0, 1), new TaskId(0, 2)]),
        };
        var merge = new[]
        {
            Task("concat", [ArtifactRef.TaskOutput(new TaskId(1, 0), "out"), ArtifactRef.TaskOutput(new TaskId(1, 1), "p0"), ArtifactRef.TaskOutput(new TaskId(1, 1), "p1")], ["out"], [new TaskId(1, 0), new TaskId(1, 1)]),
        };
        return new Plan
        {
            DataflowVersion = "test",
            Job = "mixed",
            RunId = "r1",
            CreatedAt = DateTimeOffset.UnixEpoch,
            Inputs = [new PlanInput("in/a", 3) { ETag = "\"e-a\"" }, new PlanInput("in/b", 4), new PlanInput("in/c", 10) { ETag = "\"e-c\"" }, new PlanInput("in/d", 0)],
            Stages = [new PlanStage { Name = "map", Tasks = map }, new PlanStage { Name = "reduce", Tasks = reduce }, new PlanStage { Name = "merge", Tasks = merge }],
            Outputs = [new PlanOutput("out/merged", new TaskId(2, 0), "out")],
        };
    }

    private static Dictionary<string, int> Positions(Plan plan) =>
        plan.Inputs.Select((input, i) => (input.Key, i)).ToDictionary(p => p.Key, p => p.i, StringComparer.Ordinal);

    private static void AssertSameTasks(List<PlanTask> expected, IReadOnlyList<PlanTask> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var t = 0; t < expected.Count; t++)
        {
            Assert.Equal(expected[t].Operator, actual[t].Operator);
            Assert.Equal(expected[t].Inputs, actual[t].Inputs);
            Assert.Equal(expected[t].Outputs, actual[t].Outputs);
            Assert.Equal(expected[t].DependsOn, actual[t].DependsOn);
        }
    }
}
