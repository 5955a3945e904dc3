using System.Text;

namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// What <c>runs</c> and <c>status</c> say of runs in every state — including runs whose driver was killed at a bad
/// moment, and runs whose records are damaged — and that one damaged run does not hide the others.
/// </summary>
public sealed class RunCatalogTests : IDisposable
{
    // 8 inputs, fan-in 2: stages of 4, 2 and 1 tasks.
    private const int TaskCount = 7;
    private static readonly TaskId s_failing = new(2, 0);

    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;

    public RunCatalogTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    private static Job MergeJob(IObjectOperator op, string runId) =>
        Job.Named("catalog-job").FromPrefix("input/").ReduceTree(2, op).WriteTo($"output/{runId}.txt");

    private async Task SucceedAsync(string runId) =>
        await new JobRunner(_store, new JobRunnerOptions { RunId = runId, Concurrency = 2 }).RunAsync(MergeJob(new CopyConcatOperator(), runId));

    /// <summary>Runs the job with the final task failing every attempt: the 4 + 2 tasks before it commit.</summary>
    private async Task FailAsync(string runId)
    {
        var failing = new ScriptedOperator(new CopyConcatOperator(), (task, attempt, context, token) =>
            task == s_failing ? throw new InvalidOperationException($"task {task} always fails") : ValueTask.CompletedTask);
        await Assert.ThrowsAsync<JobFailedException>(() =>
            new JobRunner(_store, new JobRunnerOptions { RunId = runId, Concurrency = 1, MaxAttempts = 1, RetryDelay = TimeSpan.Zero }).RunAsync(MergeJob(failing, runId)));
    }

    private async Task WriteLeaseAsync(string runId, DateTimeOffset expiresAt) =>
        await _store.PutAsync(
            new RunLayout(runId).LeaseKey,
            Encoding.UTF8.GetBytes($$"""{"holder":"another-host/4242/0123456789abcdef","expiresAt":"{{expiresAt:O}}"}"""));

    private async Task<RunListing> ListedAsync(string runId) =>
        Assert.Single(await RunCatalog.ListAsync(_store), r => r.RunId == runId);

    [Fact]
    public async Task Succeeded_CountsEveryTaskCommitted()
    {
        await Inputs.WriteAsync(_store, 8);
        await SucceedAsync("done");

        var listed = await ListedAsync("done");
        var status = await RunCatalog.GetStatusAsync(_store, "done");

        Assert.Equal("succeeded", listed.State);
        Assert.Equal(TaskCount, listed.Tasks);
        Assert.Equal(TaskCount, listed.TasksCommitted);
        Assert.Null(listed.Damage);
        Assert.NotNull(status);
        Assert.Equal(listed, status.Run);
        Assert.Equal(8, status.InputCount);
        Assert.Equal([4, 2, 1], status.Stages.Select(s => s.Committed));
    }

    [Fact]
    public async Task Failed_CountsWhatCommitted()
    {
        await Inputs.WriteAsync(_store, 8);
        await FailAsync("broken");

        var listed = await ListedAsync("broken");

        Assert.Equal("failed", listed.State);
        Assert.Equal(TaskCount, listed.Tasks);
        Assert.Equal(6, listed.TasksCommitted);
        Assert.Equal("failed", listed.Summary?.Status);
    }

    [Fact]
    public async Task ResumeOfFailedRunKilled_IsInterruptedNotFailed()
    {
        // A failed run was resumed, and the resuming driver was killed: its lease is left behind (expired), and the
        // summary on record is the first run's. The run is interrupted, not failed as that summary says.
        await Inputs.WriteAsync(_store, 8);
        await FailAsync("resumed");
        await WriteLeaseAsync("resumed", DateTimeOffset.UtcNow.AddMinutes(-1));

        var listed = await ListedAsync("resumed");

        Assert.Equal(RunCatalog.Interrupted, listed.State);
        Assert.Equal(6, listed.TasksCommitted);
        Assert.False(listed.Lease?.IsLive);
    }

    [Fact]
    public async Task PlanWithoutSummaryOrLease_IsInterrupted()
    {
        await Inputs.WriteAsync(_store, 8);
        await FailAsync("no-summary");
        await _store.DeleteAsync([new RunLayout("no-summary").SummaryKey]);

        var listed = await ListedAsync("no-summary");

        Assert.Equal(RunCatalog.Interrupted, listed.State);
        Assert.Null(listed.Summary);
        Assert.Equal(TaskCount, listed.Tasks);
        Assert.Equal(6, listed.TasksCommitted);
    }

    [Fact]
    public async Task LiveLease_IsRunningWithProgress()
    {
        await Inputs.WriteAsync(_store, 8);
        await FailAsync("busy");
        await _store.DeleteAsync([new RunLayout("busy").SummaryKey]);
        await WriteLeaseAsync("busy", DateTimeOffset.UtcNow.AddMinutes(5));

        var listed = await ListedAsync("busy");

        Assert.Equal(RunCatalog.Running, listed.State);
        Assert.True(listed.Lease?.IsLive);
        Assert.Equal(6, listed.TasksCommitted);
        Assert.Equal(TaskCount, listed.Tasks);
    }

    [Fact]
    public async Task KilledWhilePlanning_IsDamagedInRunsAndStatus()
    {
        // The driver took the lease and died while it stored the plan: plan chunks and a lease, no plan index.
        await Inputs.WriteAsync(_store, 8);
        await SucceedAsync("half-planned");
        var layout = new RunLayout("half-planned");
        foreach (var record in await _store.ListAllAsync(layout.Root))
        {
            if (record.Key == layout.PlanKey || !record.Key.StartsWith(layout.PlanChunksPrefix, StringComparison.Ordinal))
            {
                await _store.DeleteAsync([record.Key]);
            }
        }

        await WriteLeaseAsync("half-planned", DateTimeOffset.UtcNow.AddMinutes(-1));

        var listed = await ListedAsync("half-planned");
        var status = await RunCatalog.GetStatusAsync(_store, "half-planned");

        Assert.Equal(RunCatalog.Damaged, listed.State);
        Assert.Contains("no plan", listed.Damage, StringComparison.Ordinal);
        Assert.Null(listed.Tasks);
        Assert.NotNull(status);
        Assert.Equal(RunCatalog.Damaged, status.Run.State);
        Assert.Null(status.CreatedAt);
        Assert.Empty(status.Stages);
    }

    [Fact]
    public async Task TruncatedPlan_IsDamagedAndOtherRunsStillListed()
    {
        await Inputs.WriteAsync(_store, 8);
        await SucceedAsync("a-good");
        await SucceedAsync("b-truncated");
        await SucceedAsync("c-good");
        var planKey = new RunLayout("b-truncated").PlanKey;
        var plan = await _store.ReadAllBytesAsync(planKey);
        await _store.PutAsync(planKey, plan.AsMemory(0, plan.Length / 2));

        var runs = await RunCatalog.ListAsync(_store);
        var status = await RunCatalog.GetStatusAsync(_store, "b-truncated");

        Assert.Equal(["a-good", "b-truncated", "c-good"], runs.Select(r => r.RunId));
        Assert.Equal(["succeeded", RunCatalog.Damaged, "succeeded"], runs.Select(r => r.State));
        Assert.Contains("plan cannot be read", runs[1].Damage, StringComparison.Ordinal);
        Assert.NotNull(status);
        Assert.Equal(RunCatalog.Damaged, status.Run.State);
        Assert.Equal(runs[1].Damage, status.Run.Damage);
    }

    [Fact]
    public async Task UnreadableCommitRecord_IsDamaged()
    {
        await Inputs.WriteAsync(_store, 8);
        await FailAsync("bad-record");
        var record = (await _store.ListAllAsync(new RunLayout("bad-record").CommitsPrefix))[0];
        await _store.PutAsync(record.Key, "{ not json"u8.ToArray());

        var listed = await ListedAsync("bad-record");

        Assert.Equal(RunCatalog.Damaged, listed.State);
        Assert.Contains("commit record cannot be read", listed.Damage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownRun_HasNoStatus()
    {
        await Inputs.WriteAsync(_store, 8);
        await SucceedAsync("known");

        Assert.Null(await RunCatalog.GetStatusAsync(_store, "unknown"));
        Assert.False(await RunCatalog.ExistsAsync(_store, "unknown"));
        Assert.True(await RunCatalog.ExistsAsync(_store, "known"));
    }
}
