namespace Dataflow.Worker.Tests.Caching;

/// <summary>
/// Task keys without a store: they chain like a Merkle tree — a changed input changes the keys on its path to the
/// output and no others; an operator's version changes its tasks' keys and those downstream; a task whose operator
/// declares no version, or whose input has no fingerprint, has none.
/// </summary>
public sealed class TaskKeysTests
{
    private static Plan PlanOf(Job job, int inputs) =>
        JobPlanner.CreatePlan(job, [.. Enumerable.Range(0, inputs).Select(i => new PlanInput($"input/{i:D3}", 1) { ETag = $"\"e{i}\"" })], "run-1", DateTimeOffset.UnixEpoch);

    private static Dictionary<string, string?> Fingerprints(Plan plan) => plan.Inputs.ToDictionary(i => i.Key, i => (string?)$"{i.ETag}|id", StringComparer.Ordinal);

    private static string?[] All(Plan plan, TaskKeys keys) => [.. plan.TaskIds().Select(id => keys[id])];

    [Fact]
    public void Compute_OneInputChanged_ChangesExactlyTheKeysOnItsPathToTheOutput()
    {
        var job = CacheTestJobs.Cascade();
        var plan = PlanOf(job, 512);
        var fingerprints = Fingerprints(plan);
        var before = TaskKeys.Compute(plan, job, fingerprints);
        fingerprints["input/100"] = "\"changed\"|id";

        var after = TaskKeys.Compute(plan, job, fingerprints);

        Assert.Equal(511, before.Count);
        var changed = plan.TaskIds().Where(id => before[id] != after[id]).ToList();
        Assert.Equal(9, changed.Count);
        Assert.Equal(Enumerable.Range(0, 9), changed.Select(c => c.Stage));
        // Input 100 is read by task 50 of the first level, whose output task 25 of the next reads, and so on.
        Assert.Equal([50, 25, 12, 6, 3, 1, 0, 0, 0], changed.Select(c => c.Index));
        Assert.All(plan.TaskIds(), id => Assert.Matches("^[0-9a-f]{64}$", before[id]!));
        Assert.Equal(511, All(plan, before).Distinct().Count());
    }

    [Fact]
    public void Compute_SameInputs_GivesTheSameKeys_AndAnotherJobNameOtherKeys()
    {
        var job = CacheTestJobs.Cascade();
        var plan = PlanOf(job, 16);

        var first = TaskKeys.Compute(plan, job, Fingerprints(plan));
        var again = TaskKeys.Compute(plan with { RunId = "run-2" }, job, Fingerprints(plan));
        var renamed = Job.Named("other").FromPrefix("input/")
            .ReduceTree(new ReduceTreeOptions { FanIn = 2 }, new CacheTestJobs.VersionedConcat("merge", "1"), new CacheTestJobs.VersionedConcat("final", "1"))
            .WriteTo("output/merged.txt");
        var other = TaskKeys.Compute(plan with { Job = "other" }, renamed, Fingerprints(plan));

        Assert.Equal(All(plan, first), All(plan, again));
        Assert.All(plan.TaskIds(), id => Assert.NotEqual(first[id], other[id]));
    }

    [Fact]
    public void Compute_FinalOperatorsVersionChanged_ChangesOnlyItsTask()
    {
        var plan = PlanOf(CacheTestJobs.Cascade(), 64);
        var before = TaskKeys.Compute(plan, CacheTestJobs.Cascade(), Fingerprints(plan));

        var after = TaskKeys.Compute(plan, CacheTestJobs.Cascade(finalVersion: "2"), Fingerprints(plan));

        var changed = plan.TaskIds().Where(id => before[id] != after[id]).ToList();
        Assert.Equal([plan.Outputs[0].Task], changed);
    }

    [Fact]
    public void Compute_IntermediateOperatorsVersionChanged_ChangesItsTasksAndTheFinalOne()
    {
        var plan = PlanOf(CacheTestJobs.Cascade(), 64);
        var before = TaskKeys.Compute(plan, CacheTestJobs.Cascade(), Fingerprints(plan));

        var after = TaskKeys.Compute(plan, CacheTestJobs.Cascade(mergeVersion: "2"), Fingerprints(plan));

        Assert.All(plan.TaskIds(), id => Assert.NotEqual(before[id], after[id]));
    }

    [Fact]
    public void Compute_ReducersVersionChanged_ChangesOnlyTheReduceTasks()
    {
        var plan = PlanOf(CacheTestJobs.WordCount(), 8);
        var before = TaskKeys.Compute(plan, CacheTestJobs.WordCount(), Fingerprints(plan));

        var after = TaskKeys.Compute(plan, CacheTestJobs.WordCount(reduceVersion: "2"), Fingerprints(plan));

        Assert.Equal("map", plan.Stages[0].Tasks[0].Operator);
        Assert.All(plan.TaskIds(), id => Assert.Equal(id.Stage == 0, before[id] == after[id]));
    }

    [Fact]
    public void Compute_SplitsOfOneObject_HaveKeysOfTheirOwnRanges()
    {
        // Three map tasks over ranges of one object: same object, same fingerprint, different ranges.
        var job = CacheTestJobs.WordCount();
        var plan = JobPlanner.CreatePlan(job, [new PlanInput("input/000", 3000) { ETag = "\"e\"" }], "run-1", DateTimeOffset.UnixEpoch);

        var keys = TaskKeys.Compute(plan, job, Fingerprints(plan));

        Assert.True(plan.Stages[0].Tasks.Count >= 2, "the object was not split");
        Assert.Equal(plan.Stages[0].Tasks.Count, plan.Stages[0].Tasks.Select((_, i) => keys[new TaskId(0, i)]).Distinct().Count());
    }

    [Fact]
    public void Compute_OperatorWithoutAVersion_LeavesItsTasksAndTheirReadersWithoutKeys_AndSaysWhy()
    {
        var job = CacheTestJobs.Cascade(mergeVersion: null);
        var plan = PlanOf(job, 8);

        var keys = TaskKeys.Compute(plan, job, Fingerprints(plan));

        Assert.Equal(0, keys.Count);
        Assert.Contains("operator 'merge' declares no Version", keys.Uncacheable);
    }

    [Fact]
    public void Compute_InputWithoutAFingerprint_LeavesItsReadersWithoutKeys()
    {
        var job = CacheTestJobs.Cascade();
        var plan = PlanOf(job, 8);
        var fingerprints = Fingerprints(plan);
        fingerprints["input/003"] = null;

        var keys = TaskKeys.Compute(plan, job, fingerprints);

        Assert.Null(keys[new TaskId(0, 1)]);
        Assert.NotNull(keys[new TaskId(0, 0)]);
        Assert.Null(keys[plan.Outputs[0].Task]);
        Assert.Equal(4, keys.Count); // 7 tasks, 3 on the path of input 3
        Assert.Contains(keys.Uncacheable, r => r.Contains("input/003", StringComparison.Ordinal));
    }

    [Fact]
    public void Serialize_ThenDeserialize_GivesTheSameKeys_AndRefusesAnotherPlansShape()
    {
        var job = CacheTestJobs.Cascade(mergeVersion: "1");
        var plan = PlanOf(job, 10);
        var fingerprints = Fingerprints(plan);
        fingerprints["input/009"] = null;
        var keys = TaskKeys.Compute(plan, job, fingerprints);

        var read = TaskKeys.Deserialize(keys.Serialize(), plan, "keys");

        Assert.Equal(All(plan, keys), All(plan, read));
        var other = PlanOf(job, 12);
        var error = Assert.Throws<InvalidDataException>(() => TaskKeys.Deserialize(keys.Serialize(), other, "keys"));
        Assert.Contains("run-1", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => TaskKeys.Deserialize(keys.Serialize().AsSpan(0, 20), plan, "keys"));
    }
}
