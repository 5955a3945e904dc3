namespace Dataflow.Worker.Tests.Reports;

public sealed class RunReportRecordingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Run_WithRetries_ReportHasEveryAttemptOnASlotAndAgreesWithTheSummary()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 40, size: 100);
        var op = new ScriptedOperator(new CopyConcatOperator(), (id, attempt, _, _) =>
            id.Index % 7 == 0 && attempt == 1
                ? throw new IOException($"first attempt of {id} fails")
                : ValueTask.CompletedTask);
        var job = Job.Named("report").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");

        var summary = (await new JobRunner(store, new JobRunnerOptions { Concurrency = 4, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(job)).Summary;

        var layout = new RunLayout(summary.RunId);
        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(layout.ReportKey));
        Assert.True(await store.ExistsAsync(layout.ReportHtmlKey));
        Assert.Equal(summary, report.Summary);
        Assert.Equal("local", report.Executor);
        Assert.Equal(["slot 1", "slot 2", "slot 3", "slot 4"], report.Rows);
        Assert.Equal(0, report.AttemptsOmitted);

        // Every attempt once; every task committed exactly once; the failed first attempts are the retries.
        Assert.True(summary.Retries > 0);
        Assert.Equal(summary.Attempts, report.Attempts.Count);
        Assert.Equal(report.Attempts.Count, report.Attempts.Select(a => (a.Stage, a.Task, a.Attempt)).Distinct().Count());
        var committed = report.Attempts.Where(a => a.Outcome == AttemptOutcomes.Committed).ToList();
        Assert.Equal(summary.Tasks, committed.Select(a => (a.Stage, a.Task)).Distinct().Count());
        Assert.Equal(summary.Tasks, committed.Count);
        var failed = report.Attempts.Where(a => a.Outcome == AttemptOutcomes.Failed).ToList();
        Assert.Equal(summary.Retries, failed.Count);
        Assert.All(failed, a =>
        {
            Assert.Equal(1, a.Attempt);
            Assert.Equal(0, a.Task % 7);
            Assert.Contains("first attempt of", a.Error, StringComparison.Ordinal);
        });

        // Bars of one slot never overlap, and lie within the run.
        foreach (var row in report.Attempts.GroupBy(a => a.Row))
        {
            Assert.InRange(row.Key, 0, report.Rows.Count - 1);
            var bars = row.OrderBy(a => a.StartMs).ToList();
            for (var i = 0; i < bars.Count; i++)
            {
                Assert.True(bars[i].StartMs <= bars[i].EndMs);
                Assert.InRange(bars[i].EndMs, 0, summary.WallMs + 1);
                if (i > 0)
                {
                    Assert.True(bars[i - 1].EndMs <= bars[i].StartMs, $"attempts {bars[i - 1].Task} and {bars[i].Task} of stage {bars[i].Stage} overlap on row {row.Key}");
                }
            }
        }

        // The stage table adds up to the summary, bytes included.
        Assert.Equal(summary.Stages, report.Stages.Count);
        Assert.Equal(summary.Attempts, report.Stages.Sum(s => s.Attempts));
        Assert.Equal(summary.Retries, report.Stages.Sum(s => s.Retries));
        Assert.All(report.Stages, s =>
        {
            Assert.Equal(s.Tasks, s.Committed);
            Assert.Equal(0, s.Failed);
            Assert.NotNull(s.MedianTaskMs);
            Assert.True(s.MaxTaskMs >= s.MedianTaskMs);
        });
        Assert.Equal(summary.BytesRead, report.Attempts.Sum(a => a.BytesRead));
        Assert.Equal(summary.BytesWritten, report.Attempts.Sum(a => a.BytesWritten));
        Assert.Equal(summary.BytesRead, report.Stages.Sum(s => s.BytesRead));

        // The phases, in order, one after the other.
        Assert.Equal([RunPhases.Listing, RunPhases.Planning, RunPhases.Running, RunPhases.Publishing, RunPhases.CleaningUp], report.Phases.Select(p => p.Name));
        for (var i = 1; i < report.Phases.Count; i++)
        {
            Assert.Equal(report.Phases[i - 1].EndMs, report.Phases[i].StartMs);
        }
    }

    [Fact]
    public async Task Run_TaskFailsForGood_ReportIsStoredWithTheFailedAttempts()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 8, size: 10);
        var op = new ScriptedOperator(new CopyConcatOperator(), (id, _, _, _) =>
            id is { Stage: 0, Index: 3 } ? throw new IOException("task 0/3 always fails") : ValueTask.CompletedTask);
        var job = Job.Named("report-fails").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, new JobRunnerOptions { Concurrency = 2, MaxAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(job));

        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(new RunLayout(ex.Summary.RunId).ReportKey));
        Assert.Equal("failed", report.Summary.Status);
        Assert.Equal(ex.Summary.Error, report.Summary.Error);
        var attempts = report.Attempts.Where(a => a is { Stage: 0, Task: 3 }).OrderBy(a => a.Attempt).ToList();
        Assert.Equal([1, 2], attempts.Select(a => a.Attempt));
        Assert.All(attempts, a =>
        {
            Assert.Equal(AttemptOutcomes.Failed, a.Outcome);
            Assert.Contains("always fails", a.Error, StringComparison.Ordinal);
        });
        Assert.Equal(1, report.Stages[0].Failed);
        Assert.Equal(ex.Summary.Attempts, report.Attempts.Count);
        Assert.True(await store.ExistsAsync(new RunLayout(ex.Summary.RunId).ReportHtmlKey));
    }

    [Fact]
    public async Task Resume_ReportCountsTheTasksFoundCommittedAsSkipped()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 8, size: 10);
        var fail = true;
        // The last stage fails the first time: it starts only once every task below it has committed, so the first run
        // always leaves stages 0 and 1 committed (a failure in stage 1 could cancel stage-0 tasks still running).
        var op = new ScriptedOperator(new CopyConcatOperator(), (id, _, _, _) =>
            fail && id.Stage == 2 ? throw new IOException("stage 2 fails the first time") : ValueTask.CompletedTask);
        var job = Job.Named("report-resume").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");
        var options = new JobRunnerOptions { Concurrency = 2, MaxAttempts = 1 };
        var ex = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, options).RunAsync(job));
        fail = false;

        var summary = (await new JobRunner(store, options).ResumeAsync(job, ex.Summary.RunId)).Summary;

        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(new RunLayout(summary.RunId).ReportKey));
        Assert.Equal("succeeded", report.Summary.Status);
        Assert.Equal(summary.TasksSkipped, report.Stages.Sum(s => s.Skipped));
        Assert.Equal(4, report.Stages[0].Skipped);
        Assert.Equal(0, report.Stages[0].Attempts);
        Assert.Equal(2, report.Stages[1].Skipped);
        Assert.Equal(summary.TasksRun, report.Attempts.Count);
    }

    [Fact]
    public void Build_MoreAttemptsThanTheCap_KeepsTheFirstAndCountsAllInTheStageTotals()
    {
        var recorder = new RunRecorder(TimeProvider.System, maxAttempts: 3);
        recorder.SetPlan(JobPlanner.CreatePlan(
            Job.Named("cap").FromPrefix("in/").ReduceTree(8, new ConcatOperator()).WriteTo("out"),
            Enumerable.Range(0, 5).Select(i => new PlanInput($"in/{i}", 1)).ToList(),
            "run-cap",
            DateTimeOffset.UnixEpoch));
        var row = recorder.Row("slot 1");
        for (var i = 0; i < 5; i++)
        {
            recorder.Attempt(new AttemptReport { Stage = 0, Task = i, Attempt = 1, Row = row, StartMs = i, EndMs = (2 * i) + 1, Outcome = AttemptOutcomes.Committed, BytesRead = 10 });
        }

        var report = recorder.Build(new RunSummary
        {
            RunId = "run-cap", Job = "cap", Stages = 1, Tasks = 1, TasksRun = 1, TasksSkipped = 0, Attempts = 5, Retries = 0, Failed = 0,
            WallMs = 5, BytesRead = 50, BytesWritten = 0, IntermediateObjectsLeft = 0, Status = "succeeded",
        });

        Assert.Equal(3, report.Attempts.Count);
        Assert.Equal(2, report.AttemptsOmitted);
        Assert.Equal(5, report.Stages[0].Attempts);
        Assert.Equal(50, report.Stages[0].BytesRead);
        Assert.Equal(0, report.Stages[0].StartMs);
        Assert.Equal(9, report.Stages[0].EndMs);
        Assert.Equal(5, report.Stages[0].MaxTaskMs);
        Assert.Equal(3, report.Stages[0].MedianTaskMs);
    }
}
