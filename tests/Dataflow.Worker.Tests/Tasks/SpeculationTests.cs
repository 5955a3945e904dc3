namespace Dataflow.Worker.Tests.Tasks;

/// <summary>
/// Speculative attempts on the local executor: a backup attempt beside a straggler never changes an output, only one
/// attempt of each task commits (the loser is cancelled and its outputs deleted), and the report shows both.
/// </summary>
public sealed class SpeculationTests : IDisposable
{
    /// <summary>Every running task gets a backup as soon as a slot is free: as many races as the run can have.</summary>
    internal static readonly SpeculationOptions Forced = new() { Multiplier = 0, Floor = TimeSpan.Zero, Quantile = 0, Interval = TimeSpan.FromMilliseconds(5) };

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ForcedBackups_OnAFolder_GiveTheOutputOfAPlainRun()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await AssertForcedBackupsChangeNothingAsync(store);
    }

    [Fact]
    public async Task ForcedBackups_OnS3_GiveTheOutputOfAPlainRun()
    {
        var store = await S3TestServer.OpenAsync(S3TestServer.NewBucket("speculate"));
        try
        {
            await AssertForcedBackupsChangeNothingAsync(store);
            Assert.Empty(await S3TestServer.IncompleteUploadsAsync(store));
        }
        finally
        {
            await S3TestServer.DeleteBucketAsync(store);
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task Straggler_ItsBackupWins_TheStragglerIsCancelledAndOnlyTheBackupCommitted()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 8, size: 50);
        var straggler = new TaskId(1, 1);
        var op = new ScriptedOperator(new CopyConcatOperator(), async (id, attempt, _, token) =>
        {
            if (id == straggler && attempt == 1)
            {
                // Works until it is cancelled: only a backup can finish the task.
                await Task.Delay(Timeout.InfiniteTimeSpan, token);
            }
        });
        var plain = await RunAsync(store, "output/plain.txt", SpeculationOptions.Off, new CopyConcatOperator());
        var options = new SpeculationOptions { Multiplier = 0, Floor = TimeSpan.FromMilliseconds(50), Quantile = 0.5, Interval = TimeSpan.FromMilliseconds(10) };

        var summary = await RunAsync(store, "output/spec.txt", options, op);

        Assert.Equal("succeeded", summary.Status);
        Assert.Equal(await store.ReadAllBytesAsync("output/plain.txt"), await store.ReadAllBytesAsync("output/spec.txt"));
        // Other tasks slow on a loaded machine may get backups too: the straggler's is the one that must win.
        Assert.InRange(summary.SpeculativeWins, 1, summary.SpeculativeAttempts);
        Assert.Equal(0, summary.Retries);
        Assert.Equal(0, summary.IntermediateObjectsLeft);
        var layout = new RunLayout(summary.RunId);
        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(layout.ReportKey));
        var attempts = report.Attempts.Where(a => a.Stage == straggler.Stage && a.Task == straggler.Index).OrderBy(a => a.Attempt).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Equal((AttemptOutcomes.Cancelled, "superseded by attempt 2", (bool?)null), (attempts[0].Outcome, attempts[0].Error, attempts[0].Speculative));
        Assert.Equal((AttemptOutcomes.Committed, (bool?)true), (attempts[1].Outcome, attempts[1].Speculative));
        Assert.Equal(summary.SpeculativeAttempts, report.Attempts.Count(a => a.Speculative == true));

        // Readers — a resume, the commit index — find the backup's commit and no other of the task.
        var markers = (await CommitIndex.LoadRecordsAsync(store, layout, CancellationToken.None)).SelectMany(r => r.Markers).Where(m => m.Task == straggler).ToList();
        Assert.Equal(2, Assert.Single(markers).Attempt);
        Assert.Equal(2, (await CommitIndex.LoadAllAsync(store, layout, CancellationToken.None))[straggler].Attempt);
        Assert.Empty(await store.ListAllAsync(layout.DataPrefix));
        Assert.Equal(plain.Tasks, summary.Tasks);
    }

    [Fact]
    public async Task Backup_FailsWhileTheStragglerRuns_TheStragglerStillCommits()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 8, size: 50);
        var straggler = new TaskId(0, 2);
        var op = new ScriptedOperator(new CopyConcatOperator(), async (id, attempt, _, token) =>
        {
            if (id == straggler && attempt == 1)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(400), token);
            }
            else if (id == straggler)
            {
                throw new IOException("the backup fails");
            }
        });
        var options = new SpeculationOptions { Multiplier = 0, Floor = TimeSpan.FromMilliseconds(20), Quantile = 0.5, Interval = TimeSpan.FromMilliseconds(5) };

        var summary = await RunAsync(store, "output/spec.txt", options, op, maxAttempts: 1);

        Assert.Equal("succeeded", summary.Status);
        Assert.True(summary.SpeculativeAttempts >= 1);
        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(new RunLayout(summary.RunId).ReportKey));
        var attempts = report.Attempts.Where(a => a.Stage == straggler.Stage && a.Task == straggler.Index).OrderBy(a => a.Attempt).ToList();
        Assert.Equal([AttemptOutcomes.Committed, AttemptOutcomes.Failed], attempts.Select(a => a.Outcome));
        Assert.True(attempts[1].Speculative);
    }

    [Fact]
    public async Task Backup_ThatHangsLikeItsStraggler_IsStoppedByTheTaskTimeout_AndTheTaskFails()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 8, size: 50);
        var stuck = new TaskId(0, 1);
        var op = new ScriptedOperator(new CopyConcatOperator(), async (id, _, _, token) =>
        {
            if (id == stuck)
            {
                // Every attempt of the task hangs: only the task timeout ends them, the backup's included.
                await Task.Delay(Timeout.InfiniteTimeSpan, token);
            }
        });
        var job = Job.Named("speculate").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/stuck.txt");
        var options = new JobRunnerOptions
        {
            Concurrency = 4,
            MaxAttempts = 1,
            TaskTimeout = TimeSpan.FromMilliseconds(600),
            Speculation = new SpeculationOptions { Multiplier = 0, Floor = TimeSpan.FromMilliseconds(20), Quantile = 0.5, Interval = TimeSpan.FromMilliseconds(5) },
        };

        // A backup without the timeout would keep the task, and the run, waiting for ever: the guard turns that into a failure.
        var failed = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, options).RunAsync(job).WaitAsync(TimeSpan.FromMinutes(2)));

        Assert.Contains("timed out", failed.Message, StringComparison.Ordinal);
        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(new RunLayout(failed.Summary.RunId).ReportKey));
        var attempts = report.Attempts.Where(a => a.Stage == stuck.Stage && a.Task == stuck.Index).ToList();
        Assert.Contains(attempts, a => a.Speculative == true);
        Assert.All(attempts, a => Assert.NotEqual(AttemptOutcomes.Committed, a.Outcome));
    }

    [Fact]
    public void Options_OutOfRange_AreRefusedNamingTheSetting()
    {
        Assert.Equal("Multiplier", Assert.Throws<ArgumentOutOfRangeException>(() => new SpeculationOptions { Multiplier = -1 }.Validate()).ParamName);
        Assert.Equal("Floor", Assert.Throws<ArgumentOutOfRangeException>(() => new SpeculationOptions { Floor = TimeSpan.FromSeconds(-1) }.Validate()).ParamName);
        Assert.Equal("Quantile", Assert.Throws<ArgumentOutOfRangeException>(() => new SpeculationOptions { Quantile = 1.5 }.Validate()).ParamName);
        Assert.Equal("Quantile", Assert.Throws<ArgumentOutOfRangeException>(() => new JobRunnerOptions { Speculation = new() { Quantile = double.NaN } }.Validate()).ParamName);
        new SpeculationOptions().Validate();
        Assert.True(new JobRunnerOptions().Speculation.Enabled);
    }

    private static async Task AssertForcedBackupsChangeNothingAsync(IObjectStore store)
    {
        await Inputs.WriteAsync(store, 32, size: 300);

        // Each attempt works a little (cancellably), so that backups start while their originals still run.
        var op = new ScriptedOperator(new CopyConcatOperator(), (_, _, _, token) => new ValueTask(Task.Delay(30, token)));
        await RunAsync(store, "output/plain.bin", SpeculationOptions.Off, op);

        var summary = await RunAsync(store, "output/spec.bin", Forced, op);

        Assert.Equal("succeeded", summary.Status);
        Assert.Equal(await store.ReadAllBytesAsync("output/plain.bin"), await store.ReadAllBytesAsync("output/spec.bin"));
        Assert.True(summary.SpeculativeAttempts > 0, "no backup attempt ran: the test proves nothing");
        Assert.Equal(0, summary.IntermediateObjectsLeft);
        var layout = new RunLayout(summary.RunId);
        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(layout.ReportKey));
        Assert.Equal(summary.SpeculativeAttempts, report.Attempts.Count(a => a.Speculative == true));
        Assert.Equal(summary.Attempts, report.Attempts.Count);

        // Each task committed exactly once, and its one commit record is the one the report says committed.
        var committed = report.Attempts.Where(a => a.Outcome == AttemptOutcomes.Committed).ToList();
        Assert.Equal(summary.Tasks, committed.Count);
        Assert.Equal(summary.Tasks, committed.Select(a => (a.Stage, a.Task)).Distinct().Count());
        Assert.All(report.Attempts.Where(a => a.Outcome != AttemptOutcomes.Committed), a => Assert.Equal(AttemptOutcomes.Cancelled, a.Outcome));
        var markers = (await CommitIndex.LoadRecordsAsync(store, layout, CancellationToken.None)).SelectMany(r => r.Markers).ToList();
        Assert.Equal(summary.Tasks, markers.Count);
        Assert.All(markers, m => Assert.Contains(committed, a => a.Stage == m.Task.Stage && a.Task == m.Task.Index && a.Attempt == m.Attempt));
        Assert.Empty(await store.ListAllAsync(layout.DataPrefix));
    }

    private static async Task<RunSummary> RunAsync(IObjectStore store, string output, SpeculationOptions speculation, IObjectOperator op, int maxAttempts = 3)
    {
        var job = Job.Named("speculate").FromPrefix("input/").ReduceTree(2, op).WriteTo(output);
        var options = new JobRunnerOptions { Concurrency = 4, MaxAttempts = maxAttempts, RetryDelay = TimeSpan.FromMilliseconds(1), Speculation = speculation };
        return (await new JobRunner(store, options).RunAsync(job)).Summary;
    }
}
