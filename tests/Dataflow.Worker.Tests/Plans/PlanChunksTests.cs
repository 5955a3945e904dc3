namespace Dataflow.Worker.Tests.Plans;

public sealed class PlanChunksTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(1000)]
    public void Join_EveryChunkOfAPlan_GivesThePlanBack(int chunkSize)
    {
        var plan = SeedPlan(37);
        var index = PlanChunks.Index(plan, chunkSize);
        var (stages, inputs) = Split(plan, index);

        var joined = PlanChunks.Join(index, stages, inputs);

        Assert.Equal(PlanSerializer.Serialize(plan), PlanSerializer.Serialize(joined));
    }

    [Fact]
    public void Index_OfASplitPlan_CountsTasksAndChunksPerStage()
    {
        var plan = SeedPlan(37);

        var index = PlanChunks.Index(plan, 5);

        Assert.Equal([19, 10, 5, 3, 2, 1], index.Stages.Select(s => s.Tasks));
        Assert.Equal([4, 2, 1, 1, 1, 1], Enumerable.Range(0, index.Stages.Count).Select(index.StageChunks));
        Assert.Equal(8, index.InputChunks);
        Assert.Equal(plan.TaskCount, index.TaskCount);
    }

    [Fact]
    public void TaskChunk_HoldsTheSizesOfTheInputsItsTasksRead_AndNoOthers()
    {
        var plan = SeedPlan(8);
        var index = PlanChunks.Index(plan, 2);
        var sizes = plan.Inputs.ToDictionary(i => i.Key);

        var chunk = PlanChunks.TaskChunk(plan, index, sizes, 0, 1);

        Assert.Equal(2, chunk.First);
        Assert.Equal(plan.Stages[0].Tasks.Skip(2).Take(2).SelectMany(t => t.Inputs).Select(i => i.Key), chunk.Inputs.Select(i => i.Key));
        Assert.All(chunk.Inputs, i => Assert.Equal(sizes[i.Key], i));
        Assert.Empty(PlanChunks.TaskChunk(plan, index, sizes, 1, 0).Inputs);
    }

    [Fact]
    public void Partial_OneChunk_HasEveryStageCountedButOnlyItsTasksLoaded()
    {
        var plan = SeedPlan(37);
        var index = PlanChunks.Index(plan, 5);
        var sizes = plan.Inputs.ToDictionary(i => i.Key);

        var partial = PlanChunks.Partial(index, [PlanChunks.TaskChunk(plan, index, sizes, 0, 2)]);

        Assert.Equal(plan.TaskCount, partial.TaskCount);
        Assert.Equal(plan.Stages.Select(s => s.Name), partial.Stages.Select(s => s.Name));
        Assert.Same(plan.Stages[0].Tasks[12], partial.GetTask(new TaskId(0, 12)));
        Assert.Equal(10, partial.Inputs.Count);
        var missing = Assert.Throws<InvalidOperationException>(() => partial.GetTask(new TaskId(0, 15)));
        Assert.Contains("task 0/15", missing.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => partial.GetTask(new TaskId(1, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => partial.Stages[0].Tasks[19]);
    }

    [Fact]
    public void Join_AChunkMissing_IsRefusedAsADamagedPlanNamingTheRun()
    {
        var plan = SeedPlan(37);
        var index = PlanChunks.Index(plan, 5);
        var (stages, inputs) = Split(plan, index);
        stages[0] = [.. stages[0].Where(c => c.First != 5)];

        var error = Assert.Throws<InvalidDataException>(() => PlanChunks.Join(index, stages, inputs));

        Assert.Contains("run 'r1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("stage 0 starting at task 10", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Partial_AChunkThatDoesNotFit_IsRefused()
    {
        var plan = SeedPlan(8);
        var index = PlanChunks.Index(plan, 2);
        var chunk = new PlanChunk { Stage = 1, First = 1, Tasks = [plan.Stages[0].Tasks[0], plan.Stages[0].Tasks[1]], Inputs = [] };

        Assert.Throws<InvalidDataException>(() => PlanChunks.Partial(index, [chunk]));
    }

    [Fact]
    public void SerializePart_RoundTripsIndexAndChunks_AndPeekReadsTheirSchemaVersions()
    {
        var plan = SeedPlan(9);
        var index = PlanChunks.Index(plan, 4);
        var sizes = plan.Inputs.ToDictionary(i => i.Key);
        var chunk = PlanChunks.TaskChunk(plan, index, sizes, 0, 1);

        var indexBytes = PlanSerializer.SerializePart(index);
        var back = PlanSerializer.DeserializePart<PlanIndex>(indexBytes);
        var chunkBack = PlanSerializer.DeserializePart<PlanChunk>(PlanSerializer.SerializePart(chunk));

        Assert.Equal(index.Stages, back.Stages);
        Assert.Equal(index.Outputs, back.Outputs);
        Assert.Equal(chunk.Tasks.Count, chunkBack.Tasks.Count);
        Assert.Equal(chunk.Inputs, chunkBack.Inputs);
        Assert.Equal(PlanIndex.CurrentSchemaVersion, PlanSerializer.PeekSchemaVersion(indexBytes));
        Assert.Equal(1, PlanSerializer.PeekSchemaVersion(PlanSerializer.SerializeToUtf8Bytes(plan)));
        Assert.Equal(0, PlanSerializer.PeekSchemaVersion("[1]"u8));
        Assert.Equal(0, PlanSerializer.PeekSchemaVersion("{\"a\":{\"schemaVersion\":2}}"u8));
    }

    [Fact]
    public void DeserializePart_AnIndexOfAnotherSchemaVersion_IsRefused()
    {
        var json = PlanSerializer.SerializePart(PlanChunks.Index(SeedPlan(4)) with { SchemaVersion = PlanIndex.CurrentSchemaVersion + 1 });

        var error = Assert.Throws<InvalidDataException>(() => PlanSerializer.DeserializePart<PlanIndex>(json));

        Assert.Contains($"schema version {PlanIndex.CurrentSchemaVersion + 1}", error.Message, StringComparison.Ordinal);
        Assert.Contains("run 'r1'", error.Message, StringComparison.Ordinal);
    }

    private static (IReadOnlyList<PlanChunk>[] Stages, PlanInputChunk[] Inputs) Split(Plan plan, PlanIndex index)
    {
        var sizes = plan.Inputs.ToDictionary(i => i.Key);
        var stages = Enumerable.Range(0, index.Stages.Count)
            .Select(s => (IReadOnlyList<PlanChunk>)[.. Enumerable.Range(0, index.StageChunks(s)).Select(c => PlanChunks.TaskChunk(plan, index, sizes, s, c))])
            .ToArray();
        var inputs = Enumerable.Range(0, index.InputChunks).Select(c => PlanChunks.InputChunk(plan, index, c)).ToArray();
        return (stages, inputs);
    }

    private static Plan SeedPlan(int inputs)
    {
        var keys = Enumerable.Range(0, inputs).Select(i => $"in/{i:D4}").ToList();
        var job = Job.Named("seed").FromKeys(keys).ReduceTree(2, new TestOperator("concat")).WriteTo("out/merged");
        return JobPlanner.CreatePlan(job, [.. keys.Select((k, i) => new PlanInput(k, i + 1))], "r1", DateTimeOffset.UnixEpoch);
    }
}
