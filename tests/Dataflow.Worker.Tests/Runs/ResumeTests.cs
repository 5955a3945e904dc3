using System.Collections.Concurrent;

namespace Dataflow.Worker.Tests.Runs;

public sealed class ResumeTests : IDisposable
{
    private const string RunId = "resume-test";
    private const string Output = "output/merged.txt";

    // 16 inputs, fan-in 2: stages of 8, 4, 2 and 1 tasks.
    private const int InputCount = 16;
    private static readonly TaskId s_failing = new(2, 1);

    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;
    private readonly RunLayout _layout = new(RunId);

    public ResumeTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    private static JobRunnerOptions Options(GcMode gc = GcMode.Eager, string? runId = RunId) => new()
    {
        RunId = runId,
        Concurrency = 4,
        MaxAttempts = 1,
        RetryDelay = TimeSpan.Zero,
        Gc = gc,
    };

    private static Job MergeJob(IObjectOperator op, string name = "resume-job") =>
        Job.Named(name).FromPrefix("input/").ReduceTree(2, op).WriteTo(Output);

    /// <summary>Copies its inputs, but fails every attempt of <see cref="s_failing"/>; records which tasks it ran.</summary>
    private static ScriptedOperator Failing(ConcurrentBag<TaskId>? ran = null) =>
        new(new CopyConcatOperator(), (task, attempt, context, token) =>
        {
            ran?.Add(task);
            return task == s_failing ? throw new InvalidOperationException($"task {task} always fails") : ValueTask.CompletedTask;
        });

    private static ScriptedOperator Working(ConcurrentBag<TaskId> ran) =>
        new(new CopyConcatOperator(), (task, attempt, context, token) =>
        {
            ran.Add(task);
            return ValueTask.CompletedTask;
        });

    /// <summary>Every commit marker in the run's commit records (winners and losers), by task.</summary>
    private async Task<Dictionary<TaskId, List<CommitMarker>>> MarkersAsync()
    {
        var markers = new Dictionary<TaskId, List<CommitMarker>>();
        foreach (var record in await _store.ListAllAsync(_layout.CommitsPrefix))
        {
            foreach (var marker in RunRecords.DeserializeCommitRecord(await _store.ReadAllBytesAsync(record.Key), record.Key).Markers)
            {
                if (!markers.TryGetValue(marker.Task, out var list))
                {
                    markers[marker.Task] = list = [];
                }

                list.Add(marker);
            }
        }

        return markers;
    }

    private async Task<List<string>> DataKeysAsync() => (await _store.ListAllAsync(_layout.DataPrefix)).ConvertAll(i => i.Key);

    /// <summary>Runs the job with a task that always fails; returns the failure and the markers committed by then.</summary>
    private async Task<(JobFailedException Failure, Dictionary<TaskId, List<CommitMarker>> Markers)> FailFirstRunAsync(GcMode gc = GcMode.Eager)
    {
        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Options(gc)).RunAsync(MergeJob(Failing())));
        return (failure, await MarkersAsync());
    }

    /// <summary>What an uninterrupted run of the same job makes, in a store of its own.</summary>
    private static async Task<byte[]> UninterruptedOutputAsync()
    {
        using var folder = new TempFolder();
        await using var store = ObjectStore.OpenFolder(folder.Path);
        await Inputs.WriteAsync(store, InputCount, size: 3);
        await new JobRunner(store, Options(runId: null)).RunAsync(MergeJob(new CopyConcatOperator()));
        return await store.ReadAllBytesAsync(Output);
    }

    [Fact]
    public async Task ResumeAsync_AfterATaskFailedForGood_RunsOnlyTheRestAndMakesTheSameOutput()
    {
        var expected = await Inputs.WriteAsync(_store, InputCount, size: 3);

        var (failure, before) = await FailFirstRunAsync();

        // The failed run: nothing published, its committed tasks recorded, the objects unfinished tasks need kept.
        var failed = failure.Summary;
        Assert.Equal("failed", failed.Status);
        Assert.Equal(1, failed.Failed);
        Assert.Equal(before.Count, failed.TasksRun);
        Assert.Contains($"task {s_failing}", failure.Message, StringComparison.Ordinal);
        Assert.False(await _store.ExistsAsync(Output));
        Assert.False(await _store.ExistsAsync(_layout.LeaseKey));
        Assert.Equal("failed", RunRecords.DeserializeSummary(await _store.ReadAllBytesAsync(_layout.SummaryKey)).Status);
        Assert.DoesNotContain(s_failing, before.Keys);
        Assert.DoesNotContain(new TaskId(3, 0), before.Keys);
        Assert.Contains(new TaskId(1, 2), before.Keys);
        Assert.Contains(new TaskId(1, 3), before.Keys);
        Assert.All(before.Values, markers => Assert.Single(markers));
        Assert.Equal(before.Keys.Order(), (await CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None)).Keys.Order());

        // Exactly the outputs of committed tasks whose consumer has not committed are left (each task wrote one object).
        var plan = (await JobRunner.LoadPlanAsync(_store, RunId))!;
        var consumers = plan.TaskIds()
            .SelectMany(c => plan.GetTask(c).Inputs.Where(i => i.Task is not null).Select(i => (Producer: i.Task!.Value, Consumer: c)))
            .ToLookup(p => p.Producer, p => p.Consumer);
        var needed = before.Keys
            .Where(t => consumers[t].Any(c => !before.ContainsKey(c)))
            .Select(t => before[t][0].Outputs.Single().Key!)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(needed);
        Assert.Equal(needed, (await DataKeysAsync()).Order(StringComparer.Ordinal));
        Assert.Equal(needed.Count, failed.IntermediateObjectsLeft);

        // Resume with an operator that works: same job name, same operator names.
        var ran = new ConcurrentBag<TaskId>();
        var result = await new JobRunner(_store, Options()).ResumeAsync(MergeJob(Working(ran)), RunId);

        var s = result.Summary;
        Assert.Equal("succeeded", s.Status);
        Assert.Equal(RunId, s.RunId);
        Assert.Equal(15, s.Tasks);
        Assert.Equal(before.Count, s.TasksSkipped);
        Assert.Equal(s.Tasks, s.TasksRun + s.TasksSkipped);
        Assert.Equal(s.TasksRun, s.Attempts);
        Assert.Equal(0, s.Failed);
        Assert.Equal(0, s.IntermediateObjectsLeft);
        Assert.Empty(await DataKeysAsync());
        Assert.Equal(_store.GetUri(Output), s.Output);
        Assert.Equal(s, RunRecords.DeserializeSummary(await _store.ReadAllBytesAsync(_layout.SummaryKey)));
        Assert.False(await _store.ExistsAsync(_layout.LeaseKey));

        // Only the tasks that had not committed ran, each once.
        Assert.Equal(result.Plan.TaskIds().Where(t => !before.ContainsKey(t)).Order(), ran.Order());

        // The output is what an uninterrupted run makes.
        var output = await _store.ReadAllBytesAsync(Output);
        Assert.Equal(expected, output);
        Assert.Equal(await UninterruptedOutputAsync(), output);

        // Every task committed exactly once; those committed before the resume kept their one old commit.
        var after = await MarkersAsync();
        Assert.Equal(result.Plan.TaskIds().Order(), after.Keys.Order());
        Assert.All(after.Values, markers => Assert.Single(markers));
        foreach (var (task, markers) in before)
        {
            Assert.Equal(markers[0].AttemptId, after[task][0].AttemptId);
        }
    }

    [Fact]
    public async Task ResumeAsync_OrphansOfTheEarlierDriver_AreSweptAndNeededObjectsKept()
    {
        await Inputs.WriteAsync(_store, InputCount, size: 3);
        var (_, before) = await FailFirstRunAsync();
        var kept = await DataKeysAsync();
        Assert.NotEmpty(kept);

        // An attempt of the earlier driver that wrote its output and never committed (its worker was killed).
        var orphan = _layout.OutputKey(s_failing, "a01-0000dead", "out");
        await _store.PutAsync(orphan, "half an output"u8.ToArray());

        var result = await new JobRunner(_store, Options()).ResumeAsync(MergeJob(new CopyConcatOperator()), RunId);

        Assert.False(await _store.ExistsAsync(orphan));
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
        Assert.Empty(await DataKeysAsync());
        Assert.Equal(before.Count, result.Summary.TasksSkipped);
    }

    [Fact]
    public async Task ResumeAsync_GcNever_KeepsOrphansAndEveryIntermediate()
    {
        await Inputs.WriteAsync(_store, InputCount, size: 3);
        var (failure, before) = await FailFirstRunAsync(GcMode.Never);

        // With GC off, every committed task's object stays, needed or not.
        foreach (var markers in before.Values)
        {
            Assert.True(await _store.ExistsAsync(markers[0].Outputs.Single().Key!));
        }

        Assert.Equal((await DataKeysAsync()).Count, failure.Summary.IntermediateObjectsLeft);
        var orphan = _layout.OutputKey(s_failing, "a01-0000dead", "out");
        await _store.PutAsync(orphan, "half an output"u8.ToArray());

        var result = await new JobRunner(_store, Options(GcMode.Never)).ResumeAsync(MergeJob(new CopyConcatOperator()), RunId);

        Assert.True(await _store.ExistsAsync(orphan));

        // Every task's object stays but the final one (moved to the output); so do the orphan and whatever attempts
        // the failure cancelled wrote.
        var left = await DataKeysAsync();
        foreach (var (task, markers) in await MarkersAsync())
        {
            Assert.Equal(task != new TaskId(3, 0), left.Contains(markers.Single().Outputs.Single().Key!));
        }

        Assert.InRange(result.Summary.IntermediateObjectsLeft, result.Summary.Tasks, int.MaxValue);
        Assert.Equal(left.Count, result.Summary.IntermediateObjectsLeft);
    }

    [Fact]
    public async Task ResumeAsync_OfARunThatCompletedButLostItsSummary_PublishesNothingNewAndSucceeds()
    {
        var expected = await Inputs.WriteAsync(_store, InputCount, size: 3);
        var first = await new JobRunner(_store, Options()).RunAsync(MergeJob(new CopyConcatOperator()));
        var markers = await MarkersAsync();

        // The driver published the output and died before it stored the summary.
        await _store.DeleteAsync([_layout.SummaryKey]);
        var ran = new ConcurrentBag<TaskId>();

        var result = await new JobRunner(_store, Options()).ResumeAsync(MergeJob(Working(ran)), RunId);

        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(first.Summary.Tasks, result.Summary.TasksSkipped);
        Assert.Equal(0, result.Summary.TasksRun);
        Assert.Empty(ran);
        Assert.Equal(expected, await _store.ReadAllBytesAsync(Output));
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
        Assert.True(await _store.ExistsAsync(_layout.SummaryKey));
        Assert.Equal(markers.Keys.Order(), (await MarkersAsync()).Keys.Order());
    }

    [Fact]
    public async Task ResumeAsync_UnknownRunId_FailsNamingIt()
    {
        await Inputs.WriteAsync(_store, 4);

        var error = await Assert.ThrowsAsync<JobDefinitionException>(() => new JobRunner(_store, Options()).ResumeAsync(MergeJob(new CopyConcatOperator()), "no-such-run"));

        Assert.Contains("'no-such-run'", error.Message, StringComparison.Ordinal);
        Assert.Empty(await _store.ListAllAsync(RunLayout.RunsPrefix));
    }

    [Fact]
    public async Task ResumeAsync_RunOfAnotherJob_FailsNamingBothJobs()
    {
        await Inputs.WriteAsync(_store, 4);
        await new JobRunner(_store, Options()).RunAsync(MergeJob(new CopyConcatOperator()));
        var records = await _store.ListAllAsync(_layout.Root);

        var error = await Assert.ThrowsAsync<JobDefinitionException>(() =>
            new JobRunner(_store, Options()).ResumeAsync(MergeJob(new CopyConcatOperator(), name: "another-job"), RunId));

        Assert.Contains($"'{RunId}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'resume-job'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'another-job'", error.Message, StringComparison.Ordinal);
        Assert.Equal(records.Select(r => (r.Key, r.Size)), (await _store.ListAllAsync(_layout.Root)).Select(r => (r.Key, r.Size)));
    }

    [Fact]
    public async Task ResumeAsync_WhileAnotherDriverHoldsTheLease_IsRefusedAndRunsNothing()
    {
        await Inputs.WriteAsync(_store, InputCount, size: 3);
        var (_, before) = await FailFirstRunAsync();
        var lease = $$"""{"holder":"other-host/7/z","expiresAt":"{{DateTimeOffset.UtcNow.AddMinutes(5):O}}"}""";
        await _store.PutAsync(_layout.LeaseKey, System.Text.Encoding.UTF8.GetBytes(lease));
        var ran = new ConcurrentBag<TaskId>();

        var refused = await Assert.ThrowsAsync<RunLeaseException>(() => new JobRunner(_store, Options()).ResumeAsync(MergeJob(Working(ran)), RunId));

        Assert.Contains("other-host/7/z", refused.Message, StringComparison.Ordinal);
        Assert.Empty(ran);
        Assert.Equal(before.Keys.Order(), (await MarkersAsync()).Keys.Order());
        Assert.False(await _store.ExistsAsync(Output));
    }

    [Fact]
    public async Task RunAsync_RunIdWhosePlanExists_FailsNamingItAndLeavesTheRunAlone()
    {
        await Inputs.WriteAsync(_store, 4);
        await new JobRunner(_store, Options()).RunAsync(MergeJob(new CopyConcatOperator()));
        await _store.DeleteAsync([Output]);
        var plan = await _store.ReadAllBytesAsync(_layout.PlanKey);

        var error = await Assert.ThrowsAsync<JobDefinitionException>(() => new JobRunner(_store, Options()).RunAsync(MergeJob(new CopyConcatOperator())));

        Assert.Contains($"'{RunId}'", error.Message, StringComparison.Ordinal);
        Assert.Equal(plan, await _store.ReadAllBytesAsync(_layout.PlanKey));
        Assert.False(await _store.ExistsAsync(Output));
    }

    [Fact]
    public async Task RunAsync_OrphanWrittenDuringTheRun_IsSwept()
    {
        await Inputs.WriteAsync(_store, 8);
        var orphan = _layout.OutputKey(new TaskId(0, 0), "a01-0000dead", "out");
        var op = new ScriptedOperator(new CopyConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task == new TaskId(0, 0))
            {
                // What an attempt killed before it committed leaves behind: an object no marker names.
                await _store.PutAsync(orphan, "half an output"u8.ToArray(), token);
            }
        });

        var result = await new JobRunner(_store, Options()).RunAsync(MergeJob(op));

        Assert.False(await _store.ExistsAsync(orphan));
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
        Assert.Empty(await DataKeysAsync());
    }

    [Fact]
    public async Task RunAsync_OrphanWrittenDuringTheRunWithGcNever_IsKept()
    {
        await Inputs.WriteAsync(_store, 8);
        var orphan = _layout.OutputKey(new TaskId(0, 0), "a01-0000dead", "out");
        var op = new ScriptedOperator(new CopyConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task == new TaskId(0, 0))
            {
                await _store.PutAsync(orphan, "half an output"u8.ToArray(), token);
            }
        });

        var result = await new JobRunner(_store, Options(GcMode.Never)).RunAsync(MergeJob(op));

        Assert.True(await _store.ExistsAsync(orphan));
        Assert.Equal(result.Summary.Tasks - 1 + 1, result.Summary.IntermediateObjectsLeft);
        Assert.Equal(result.Summary.IntermediateObjectsLeft, (await DataKeysAsync()).Count);
    }
}
