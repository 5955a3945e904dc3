namespace Dataflow.Worker.Tests.Runs;

/// <summary>The tests of <see cref="JobRunner"/> running jobs on the local executor.</summary>
/// <remarks>One concept, kept in one file.</remarks>
public sealed class JobRunnerTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;

    public JobRunnerTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    private static JobRunnerOptions Fast(GcMode gc = GcMode.Eager, int attempts = 3, TimeSpan? timeout = null) => new()
    {
        Concurrency = 4,
        MaxAttempts = attempts,
        RetryDelay = TimeSpan.FromMilliseconds(1),
        TaskTimeout = timeout ?? TimeSpan.FromMinutes(1),
        Gc = gc,
    };

    private static Job MergeJob(IObjectOperator op, int fanIn = 2) =>
        Job.Named("merge-test").FromPrefix("input/").ReduceTree(fanIn, op).WriteTo("output/merged.txt");

    private async Task<int> CountAsync(string prefix) => (await _store.ListAllAsync(prefix)).Count;

    private async Task<int> IntermediatesAsync(string runId) => await CountAsync(new RunLayout(runId).DataPrefix);

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(64, 2)]
    [InlineData(100, 3)]
    [InlineData(37, 5)]
    public async Task RunAsync_ConcatTree_OutputIsInputsInKeyOrderAndNothingIsLeft(int count, int fanIn)
    {
        var expected = await Inputs.WriteAsync(_store, count, size: 3);
        var inputsBefore = await _store.ListAllAsync("input/");

        var result = await new JobRunner(_store, Fast()).RunAsync(MergeJob(new ConcatOperator(), fanIn));

        Assert.Equal(Inputs.Text(expected), Inputs.Text(await _store.ReadAllBytesAsync("output/merged.txt")));
        var s = result.Summary;
        Assert.Equal("succeeded", s.Status);
        Assert.Equal(result.Plan.TaskCount, s.Tasks);
        Assert.Equal(s.Tasks, s.TasksRun);
        Assert.Equal(s.Tasks, s.Attempts);
        Assert.Equal(0, s.Retries);
        Assert.Equal(0, s.Failed);
        Assert.Equal(0, s.IntermediateObjectsLeft);
        Assert.Equal(0, await IntermediatesAsync(s.RunId));
        Assert.Equal(_store.GetUri("output/merged.txt"), s.Output);

        // Inputs untouched: same keys, sizes and bytes.
        var inputsAfter = await _store.ListAllAsync("input/");
        Assert.Equal(inputsBefore.Select(i => (i.Key, i.Size)), inputsAfter.Select(i => (i.Key, i.Size)));
        var concatenated = new List<byte>();
        foreach (var input in inputsAfter)
        {
            concatenated.AddRange(await _store.ReadAllBytesAsync(input.Key));
        }

        Assert.Equal(expected, concatenated.ToArray());
    }

    [Fact]
    public async Task RunAsync_SeedCascade_Has511TasksIn9StagesAndStoresItsRecords()
    {
        await Inputs.WriteAsync(_store, 512);

        var result = await new JobRunner(_store, Fast()).RunAsync(MergeJob(new ConcatOperator()));

        Assert.Equal(9, result.Summary.Stages);
        Assert.Equal(511, result.Summary.Tasks);
        Assert.Equal(512, (await _store.ReadAllBytesAsync("output/merged.txt")).Length);
        var layout = new RunLayout(result.Summary.RunId);
        var plan = await PlanStore.LoadAsync(_store, result.Summary.RunId);
        Assert.NotNull(plan);
        Assert.Equal(PlanSerializer.Serialize(result.Plan), PlanSerializer.Serialize(plan));
        Assert.Equal(511, plan.TaskCount);
        // The plan is stored as an index and one chunk per stage (each below 1,000 tasks) plus one of inputs.
        var index = PlanSerializer.DeserializePart<PlanIndex>(await _store.ReadAllBytesAsync(layout.PlanKey));
        Assert.Equal([256, 128, 64, 32, 16, 8, 4, 2, 1], index.Stages.Select(s => s.Tasks));
        Assert.Equal(10, (await _store.ListAllAsync(layout.PlanChunksPrefix)).Count);
        var summary = RunRecords.DeserializeSummary(await _store.ReadAllBytesAsync(layout.SummaryKey));
        Assert.Equal(result.Summary, summary);

        // Every task is committed exactly once across the commit records.
        var committed = new List<TaskId>();
        foreach (var record in await _store.ListAllAsync(layout.CommitsPrefix))
        {
            committed.AddRange(RunRecords.DeserializeCommitRecord(await _store.ReadAllBytesAsync(record.Key), record.Key).Markers.Select(m => m.Task));
        }

        Assert.Equal(plan.TaskIds().Order(), committed.Order());
    }

    [Fact]
    public async Task RunAsync_OperatorWritingItsOwnBytes_OutputVerifiedAndIntermediatesCollected()
    {
        var expected = await Inputs.WriteAsync(_store, 50, size: 10);

        var result = await new JobRunner(_store, Fast()).RunAsync(MergeJob(new CopyConcatOperator(), fanIn: 4));

        Assert.Equal(expected, await _store.ReadAllBytesAsync("output/merged.txt"));
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
        Assert.True(result.Summary.BytesWritten >= expected.Length * result.Summary.Stages, "every level writes every byte");
    }

    [Fact]
    public async Task RunAsync_FailingFirstAttempts_RetriesAndSucceedsWithoutLeftovers()
    {
        var expected = await Inputs.WriteAsync(_store, 16, size: 4);
        var op = new ScriptedOperator(new CopyConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task.Index % 2 == 0 && attempt == 1)
            {
                // Leave a half-written output behind, then fail: it must be discarded.
                var partial = await context.CreateOutputAsync("out", token);
                await partial.WriteAsync("garbage"u8.ToArray(), token);
                throw new IOException($"transient failure of task {task}");
            }
        });

        var result = await new JobRunner(_store, Fast()).RunAsync(MergeJob(op));

        Assert.Equal(expected, await _store.ReadAllBytesAsync("output/merged.txt"));
        var evenTasks = result.Plan.TaskIds().Count(t => t.Index % 2 == 0);
        Assert.Equal(evenTasks, result.Summary.Retries);
        Assert.Equal(result.Summary.Tasks + evenTasks, result.Summary.Attempts);
        Assert.Equal(0, result.Summary.Failed);
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
        var temp = Path.Combine(_folder.Path, ".dataflow-tmp");
        Assert.Empty(Directory.Exists(temp) ? Directory.GetFiles(temp) : []);
    }

    [Fact]
    public async Task RunAsync_CommitRecordsCannotBeWritten_FailsAndPublishesNothing()
    {
        await Inputs.WriteAsync(_store, 4);
        var faulty = new FaultyStore(_store, key => key.Contains("/commits/", StringComparison.Ordinal));

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(faulty, Fast(attempts: 2)).RunAsync(MergeJob(new CopyConcatOperator())));

        Assert.Contains("injected write failure", failure.Message, StringComparison.Ordinal);
        Assert.False(await _store.ExistsAsync("output/merged.txt"));

        // The outputs of attempts whose commit failed were discarded.
        Assert.Equal(0, failure.Summary.IntermediateObjectsLeft);
    }

    [Fact]
    public async Task RunAsync_TaskFailingEveryAttempt_FailsNamingTheTaskAndPublishesNothing()
    {
        await Inputs.WriteAsync(_store, 8);
        var op = new ScriptedOperator(new ConcatOperator(), (task, attempt, context, token) =>
            task == new TaskId(1, 1) ? throw new InvalidOperationException($"boom on attempt {attempt}") : ValueTask.CompletedTask);

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Fast(attempts: 3)).RunAsync(MergeJob(op)));

        Assert.Contains("task 1/1", failure.Message, StringComparison.Ordinal);
        Assert.Contains("stage 1 'level-2'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", failure.Message, StringComparison.Ordinal);
        Assert.Contains("boom on attempt 3", failure.Message, StringComparison.Ordinal);
        var inner = Assert.IsType<TaskFailedException>(failure.InnerException);
        Assert.Equal(new TaskId(1, 1), inner.Task);
        Assert.Equal(3, inner.Attempts);
        Assert.False(await _store.ExistsAsync("output/merged.txt"));
        Assert.Equal("failed", failure.Summary.Status);
        Assert.Equal(1, failure.Summary.Failed);
        Assert.Null(failure.Summary.Output);
        var stored = RunRecords.DeserializeSummary(await _store.ReadAllBytesAsync(new RunLayout(failure.Summary.RunId).SummaryKey));
        Assert.Equal("failed", stored.Status);
        Assert.Contains("boom", stored.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_UnknownFailureTypeOnFinalTask_NothingPublished()
    {
        await Inputs.WriteAsync(_store, 4);
        var op = new ScriptedOperator(new ConcatOperator(), (task, attempt, context, token) =>
            task.Stage == 1 ? throw new InvalidDataException("final merge broke") : ValueTask.CompletedTask);

        await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Fast(attempts: 2)).RunAsync(MergeJob(op)));

        Assert.Empty(await _store.ListAllAsync("output/"));
    }

    [Fact]
    public async Task RunAsync_AttemptPastItsTimeout_IsCancelledAndCountsAsFailed()
    {
        await Inputs.WriteAsync(_store, 4);
        var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task == new TaskId(0, 0) && attempt == 1)
            {
                await Task.Delay(Timeout.Infinite, token);
            }
        });

        var result = await new JobRunner(_store, Fast(attempts: 2, timeout: TimeSpan.FromMilliseconds(200))).RunAsync(MergeJob(op));

        Assert.Equal(1, result.Summary.Retries);
        Assert.True(await _store.ExistsAsync("output/merged.txt"));
    }

    [Fact]
    public async Task RunAsync_AttemptsAllTimingOut_FailureSaysItTimedOut()
    {
        await Inputs.WriteAsync(_store, 2);
        var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) => await Task.Delay(Timeout.Infinite, token));

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Fast(attempts: 2, timeout: TimeSpan.FromMilliseconds(100))).RunAsync(MergeJob(op)));

        Assert.Contains("timed out", failure.Message, StringComparison.Ordinal);
        Assert.Contains("after 2 attempts", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Cancelled_StopsPromptlyAndPublishesNothing()
    {
        await Inputs.WriteAsync(_store, 32);
        using var cancel = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task.Stage == 2)
            {
                started.TrySetResult();
                await Task.Delay(Timeout.Infinite, token);
            }
        });

        var run = new JobRunner(_store, Fast()).RunAsync(MergeJob(op), cancellationToken: cancel.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(await _store.ExistsAsync("output/merged.txt"));
        var summaries = await _store.ListAllAsync(RunLayout.RunsPrefix);
        var summaryKey = Assert.Single(summaries, s => s.Key.EndsWith("/summary.json", StringComparison.Ordinal)).Key;
        Assert.Equal("cancelled", RunRecords.DeserializeSummary(await _store.ReadAllBytesAsync(summaryKey)).Status);
    }

    [Theory]
    [InlineData(GcMode.Eager)]
    [InlineData(GcMode.End)]
    public async Task RunAsync_GcEagerOrEnd_LeavesNoIntermediates(GcMode gc)
    {
        await Inputs.WriteAsync(_store, 40, size: 2);

        var result = await new JobRunner(_store, Fast(gc)).RunAsync(MergeJob(new CopyConcatOperator()));

        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
        Assert.Equal(0, await IntermediatesAsync(result.Summary.RunId));
        Assert.Equal(40, await CountAsync("input/"));
    }

    [Fact]
    public async Task RunAsync_GcNever_KeepsEveryIntermediateButTheFinalOutput()
    {
        await Inputs.WriteAsync(_store, 40, size: 2);

        var result = await new JobRunner(_store, Fast(GcMode.Never)).RunAsync(MergeJob(new CopyConcatOperator()));

        // Every task wrote one data object; the final one was moved to the output key.
        Assert.Equal(result.Summary.Tasks - 1, result.Summary.IntermediateObjectsLeft);
        Assert.Equal(result.Summary.Tasks - 1, await IntermediatesAsync(result.Summary.RunId));
        Assert.True(await _store.ExistsAsync("output/merged.txt"));
    }

    [Fact]
    public async Task RunAsync_ReferencesToMaterializedLevels_FollowedBeforeTheBytesAreCollected()
    {
        // Two-byte inputs: level 1 (pieces of 2 bytes < 4) writes its bytes; level 2 and above keep references to
        // those level-1 objects (pieces of 4 bytes). If the collector deleted a level-1 object when its only
        // consumer (a level-2 task) committed, the final merge would find it missing.
        var expected = await Inputs.WriteAsync(_store, 64, size: 2);
        var concat = new ConcatOperator(new ConcatenationOptions { MinReferenceSegmentBytes = 4 });

        var result = await new JobRunner(_store, Fast(GcMode.Eager)).RunAsync(MergeJob(concat));

        Assert.Equal(expected, await _store.ReadAllBytesAsync("output/merged.txt"));
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);

        // Level 1 materialized 32 objects of 4 bytes and the final merge read them once: 128 + 128 bytes read.
        Assert.Equal(2 * 128, result.Summary.BytesRead);
    }

    [Fact]
    public async Task RunAsync_ReferencesWithGcNever_KeepsTheMaterializedLevel()
    {
        await Inputs.WriteAsync(_store, 64, size: 2);
        var concat = new ConcatOperator(new ConcatenationOptions { MinReferenceSegmentBytes = 4 });

        var result = await new JobRunner(_store, Fast(GcMode.Never)).RunAsync(MergeJob(concat));

        Assert.Equal(32, result.Summary.IntermediateObjectsLeft);
    }

    [Fact]
    public async Task RunAsync_OutputExists_RefusedUnlessOverwrite()
    {
        await Inputs.WriteAsync(_store, 4);
        await _store.PutAsync("output/merged.txt", "old"u8.ToArray());

        var refused = await Assert.ThrowsAsync<JobDefinitionException>(() => new JobRunner(_store, Fast()).RunAsync(MergeJob(new ConcatOperator())));
        Assert.Contains("output/merged.txt", refused.Message, StringComparison.Ordinal);
        Assert.Equal("old"u8.ToArray(), await _store.ReadAllBytesAsync("output/merged.txt"));
        Assert.Empty(await _store.ListAllAsync(RunLayout.RunsPrefix));

        var options = new JobRunnerOptions { Overwrite = true, RetryDelay = TimeSpan.Zero };
        await new JobRunner(_store, options).RunAsync(MergeJob(new ConcatOperator()));
        Assert.Equal(4, (await _store.ReadAllBytesAsync("output/merged.txt")).Length);
    }

    [Fact]
    public async Task RunAsync_ExplicitKeys_UsesThemInTheGivenOrder()
    {
        await Inputs.WriteAsync(_store, 3, size: 1);
        var job = Job.Named("keys").FromKeys(["input/00002.txt", "input/00000.txt"]).ReduceTree(2, new ConcatOperator()).WriteTo("out.bin");

        await new JobRunner(_store, Fast()).RunAsync(job);

        var a = await _store.ReadAllBytesAsync("input/00002.txt");
        var b = await _store.ReadAllBytesAsync("input/00000.txt");
        Assert.Equal(a.Concat(b), await _store.ReadAllBytesAsync("out.bin"));
    }

    [Fact]
    public async Task RunAsync_MissingExplicitKey_FailsNamingIt()
    {
        var job = Job.Named("keys").FromKeys(["nope.txt"]).ReduceTree(2, new ConcatOperator()).WriteTo("out.bin");

        var error = await Assert.ThrowsAsync<JobDefinitionException>(() => new JobRunner(_store, Fast()).RunAsync(job));

        Assert.Contains("nope.txt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_EmptyPrefix_FailsNamingTheJobAndPrefix()
    {
        var error = await Assert.ThrowsAsync<JobDefinitionException>(() => new JobRunner(_store, Fast()).RunAsync(MergeJob(new ConcatOperator())));

        Assert.Contains("merge-test", error.Message, StringComparison.Ordinal);
        Assert.Contains("input/", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_PrefixMatchingTheReservedPrefix_DataflowRecordsAreNotInputs()
    {
        await _store.PutAsync("_a.txt", "A"u8.ToArray());
        await _store.PutAsync("_b.txt", "B"u8.ToArray());
        var job = Job.Named("all").FromPrefix("_").ReduceTree(2, new ConcatOperator()).WriteTo("z/out.txt");
        await new JobRunner(_store, Fast()).RunAsync(job);
        await _store.DeleteAsync(["z/out.txt"]);

        // Prefix "_" also lists the first run's records under _dataflow/; the second run must not read them.
        var result = await new JobRunner(_store, Fast()).RunAsync(job);

        Assert.Equal(2, result.Plan.Inputs.Count);
        Assert.Equal("AB"u8.ToArray(), await _store.ReadAllBytesAsync("z/out.txt"));
    }

    [Fact]
    public async Task RunAsync_WithProgress_ReportsEveryStageComplete()
    {
        await Inputs.WriteAsync(_store, 20);
        var progress = new RunProgress();

        var result = await new JobRunner(_store, Fast()).RunAsync(MergeJob(new ConcatOperator()), progress);

        Assert.Equal(RunPhases.Done, progress.Phase);
        Assert.Equal(result.Summary.RunId, progress.RunId);
        Assert.Equal(result.Plan.Stages.Select(s => (s.Name, s.Tasks.Count)), progress.Stages.Select(s => (s.Name, s.Committed)));
        Assert.All(progress.Stages, s => Assert.Equal(0, s.Running));
    }

    [Fact]
    public async Task RunAsync_WithProgress_CountsAsRunningOnlyTasksThatHoldASlot()
    {
        // 32 tasks ready at once, 2 slots: the other 30 wait for a slot and are not "running".
        await Inputs.WriteAsync(_store, 64);
        var progress = new RunProgress();
        var most = 0;
        var seen = 0;
        var op = new ScriptedOperator(new ConcatOperator(), async (id, attempt, context, token) =>
        {
            var running = progress.Stages[id.Stage].Running;
            InterlockedMax(ref most, running);
            Interlocked.Increment(ref seen);
            await Task.Delay(2, token);
        });

        await new JobRunner(_store, Fast() with { Concurrency = 2 }).RunAsync(MergeJob(op), progress);

        Assert.Equal(63, seen);
        Assert.InRange(most, 1, 2);
        Assert.All(progress.Stages, s => Assert.Equal(0, s.Running));
    }

    [Fact]
    public async Task RunAsync_ConcurrencyOne_StillCompletes()
    {
        var expected = await Inputs.WriteAsync(_store, 33);

        await new JobRunner(_store, new JobRunnerOptions { Concurrency = 1 }).RunAsync(MergeJob(new ConcatOperator()));

        Assert.Equal(expected, await _store.ReadAllBytesAsync("output/merged.txt"));
    }

    [Fact]
    public async Task RunAsync_ConcurrencyLimit_NeverMoreOperatorsAtOnce()
    {
        await Inputs.WriteAsync(_store, 64);
        var running = 0;
        var peak = 0;
        var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Yield();
            await Task.Delay(1, token);
            Interlocked.Decrement(ref running);
        });

        await new JobRunner(_store, new JobRunnerOptions { Concurrency = 3 }).RunAsync(MergeJob(op));

        Assert.InRange(peak, 1, 3);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobRunner(_store, new JobRunnerOptions { Concurrency = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobRunner(_store, new JobRunnerOptions { MaxAttempts = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobRunner(_store, new JobRunnerOptions { TaskTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobRunner(_store, new JobRunnerOptions { RunId = "../x" }));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
