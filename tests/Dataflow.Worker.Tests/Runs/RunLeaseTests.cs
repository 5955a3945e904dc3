using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Dataflow.Worker.Tests.Runs;

public sealed class RunLeaseTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;
    private readonly RunLayout _layout = new("lease-test");

    public RunLeaseTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    private static string OurHolderPrefix => string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}/{Environment.ProcessId}/");

    private Task<RunLease> AcquireAsync(IObjectStore? store = null) =>
        RunLease.AcquireAsync(store ?? _store, _layout, TimeProvider.System, CancellationToken.None);

    private async Task WriteLeaseAsync(string holder, DateTimeOffset expiresAt, IObjectStore? store = null)
    {
        var json = string.Create(CultureInfo.InvariantCulture, $$"""{"holder":"{{holder}}","expiresAt":"{{expiresAt:O}}"}""");
        await (store ?? _store).PutAsync(_layout.LeaseKey, Encoding.UTF8.GetBytes(json));
    }

    private Task<LeaseRecord?> ReadLeaseAsync() => RunLease.ReadAsync(_store, _layout, CancellationToken.None);

    /// <summary>The id of a process that ran on this machine and has exited (and been reaped).</summary>
    private static async Task<int> DeadProcessIdAsync()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await process.WaitForExitAsync();
        return process.Id;
    }

    [Fact]
    public async Task AcquireAsync_WhileHeld_ThrowsNamingTheRunAndHolder()
    {
        await using var first = await AcquireAsync();
        var holder = (await ReadLeaseAsync())!.Holder;
        Assert.StartsWith(OurHolderPrefix, holder, StringComparison.Ordinal);

        var refused = await Assert.ThrowsAsync<RunLeaseException>(() => AcquireAsync());

        Assert.Equal(_layout.RunId, refused.RunId);
        Assert.Contains($"'{_layout.RunId}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains(holder, refused.Message, StringComparison.Ordinal);

        // The refused driver left the lease alone.
        Assert.Equal(holder, (await ReadLeaseAsync())!.Holder);
        await first.ConfirmAsync(CancellationToken.None);
        Assert.False(first.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task DisposeAsync_DeletesTheLease_SoANewAcquireWorks()
    {
        var first = await AcquireAsync();
        var firstHolder = (await ReadLeaseAsync())!.Holder;
        Assert.True(await _store.ExistsAsync(_layout.LeaseKey));

        await first.DisposeAsync();

        Assert.False(await _store.ExistsAsync(_layout.LeaseKey));
        await using var second = await AcquireAsync();
        await second.ConfirmAsync(CancellationToken.None);
        var secondHolder = (await ReadLeaseAsync())!.Holder;
        Assert.NotEqual(firstHolder, secondHolder);
        Assert.StartsWith(OurHolderPrefix, secondHolder, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcquireAsync_ExpiredLeaseOfAnotherHost_IsTakenOver()
    {
        await WriteLeaseAsync("other-host/1/x", DateTimeOffset.UtcNow.AddMinutes(-1));

        await using var lease = await AcquireAsync();
        await lease.ConfirmAsync(CancellationToken.None);

        var record = (await ReadLeaseAsync())!;
        Assert.StartsWith(OurHolderPrefix, record.Holder, StringComparison.Ordinal);
        Assert.True(record.ExpiresAt > DateTimeOffset.UtcNow, "the new lease is live");
        Assert.False(lease.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task AcquireAsync_LiveLeaseOfAnotherHost_IsNotTakenOver()
    {
        var expiresAt = DateTimeOffset.UtcNow.AddMinutes(5);
        await WriteLeaseAsync("other-host/1/x", expiresAt);

        var refused = await Assert.ThrowsAsync<RunLeaseException>(() => AcquireAsync());

        Assert.Contains("other-host/1/x", refused.Message, StringComparison.Ordinal);
        var record = (await ReadLeaseAsync())!;
        Assert.Equal("other-host/1/x", record.Holder);
        Assert.Equal(expiresAt, record.ExpiresAt);
    }

    [Fact]
    public async Task AcquireAsync_LiveLeaseOfADeadProcessOnThisMachine_IsTakenOver()
    {
        var pid = await DeadProcessIdAsync();
        var dead = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}/{pid}/x");
        Assert.True(RunLease.IsDeadHolderOnThisMachine(dead));
        await WriteLeaseAsync(dead, DateTimeOffset.UtcNow.AddMinutes(5));

        await using var lease = await AcquireAsync();
        await lease.ConfirmAsync(CancellationToken.None);

        Assert.StartsWith(OurHolderPrefix, (await ReadLeaseAsync())!.Holder, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcquireAsync_LiveLeaseOfALiveProcessOnThisMachine_IsNotTakenOver()
    {
        // Another driver in this very process (the process is alive): its lease stands.
        var live = $"{OurHolderPrefix}someone-else";
        await WriteLeaseAsync(live, DateTimeOffset.UtcNow.AddMinutes(5));

        var refused = await Assert.ThrowsAsync<RunLeaseException>(() => AcquireAsync());

        Assert.Contains(live, refused.Message, StringComparison.Ordinal);
        Assert.Equal(live, (await ReadLeaseAsync())!.Holder);
    }

    [Theory]
    [InlineData("other-host/1/x")]
    [InlineData("not a holder")]
    [InlineData("{machine}/not-a-pid/x")]
    [InlineData("{machine}/{self}/x")]
    [InlineData("{machine}/1/x/extra")]
    public void IsDeadHolderOnThisMachine_HoldersThatAreNotKnownDead_False(string holder)
    {
        holder = holder
            .Replace("{machine}", Environment.MachineName, StringComparison.Ordinal)
            .Replace("{self}", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

        Assert.False(RunLease.IsDeadHolderOnThisMachine(holder));
    }

    [Fact]
    public async Task ConfirmAsync_AnotherDriverOverwroteTheLeaseRightAfterAcquire_ThrowsAndLostFires()
    {
        // Another driver writes its lease just before this driver reads its own back (the check after acquiring):
        // the lease's first read is the acquire's, the second is that check.
        const string Rival = "rival-host/42/y";
        var reads = 0;
        var rivalExpires = DateTimeOffset.UtcNow.AddMinutes(5);
        var store = new HookedStore(_store, async key =>
        {
            if (key == _layout.LeaseKey && Interlocked.Increment(ref reads) == 2)
            {
                await WriteLeaseAsync(Rival, rivalExpires);
            }
        });

        var lease = await AcquireAsync(store);
        var lost = await Assert.ThrowsAsync<RunLeaseException>(() => lease.ConfirmAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains(Rival, lost.Message, StringComparison.Ordinal);
        Assert.Equal(_layout.RunId, lost.RunId);
        Assert.True(lease.Lost.IsCancellationRequested);
        Assert.Contains(Rival, lease.LostReason().Message, StringComparison.Ordinal);

        // A driver that lost its lease must not delete its successor's.
        await lease.DisposeAsync();
        Assert.Equal(Rival, (await ReadLeaseAsync())!.Holder);
    }

    [Fact]
    public async Task RunAsync_LeaseTakenByAnotherDriver_FailsWithoutPublishingSweepingOrWritingASummary()
    {
        await Inputs.WriteAsync(_store, 8);
        const string Rival = "rival-host/42/y";
        var reads = 0;
        var store = new HookedStore(_store, async key =>
        {
            if (key == _layout.LeaseKey && Interlocked.Increment(ref reads) == 2)
            {
                await WriteLeaseAsync(Rival, DateTimeOffset.UtcNow.AddMinutes(5));
            }
        });
        var job = Job.Named("lease-job").FromPrefix("input/").ReduceTree(2, new CopyConcatOperator()).WriteTo("output/merged.txt");
        var options = new JobRunnerOptions { RunId = _layout.RunId, Concurrency = 2, MaxAttempts = 1 };

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, options).RunAsync(job));

        var cause = Assert.IsType<RunLeaseException>(failure.InnerException);
        Assert.Contains(Rival, cause.Message, StringComparison.Ordinal);
        Assert.Equal("failed", failure.Summary.Status);
        Assert.False(await _store.ExistsAsync("output/merged.txt"));
        Assert.False(await _store.ExistsAsync(_layout.SummaryKey), "the summary is left to the driver that holds the lease");
        Assert.Equal(Rival, (await ReadLeaseAsync())!.Holder);

        // Nothing under the run's data prefix was swept: the new driver owns it. Every object there is counted.
        Assert.Equal((await _store.ListAllAsync(_layout.DataPrefix)).Count, failure.Summary.IntermediateObjectsLeft);

        // The driver that lost committed nothing: its tasks waited for the lease's confirmation before their commit.
        Assert.Empty(await _store.ListAllAsync(_layout.CommitsPrefix));
    }

    [Fact]
    public async Task AcquireAsync_LeaseHeldForAWorkflow_ItsStepsJoinItAndOthersAreRefused()
    {
        await using var driver = await AcquireAsync();
        var refusedBefore = await Assert.ThrowsAsync<RunLeaseException>(() =>
            RunLease.AcquireAsync(_store, _layout, TimeProvider.System, CancellationToken.None, workflow: "merge-abc12"));
        await driver.HoldForWorkflowAsync("merge-abc12", CancellationToken.None);
        var held = (await ReadLeaseAsync())!;
        Assert.Equal("merge-abc12", held.Workflow);
        Assert.Null(refusedBefore.Workflow);

        // The workflow's step joins the driver's lease: it may work, and leaves the lease to the driver.
        await using (var step = await RunLease.AcquireAsync(_store, _layout, TimeProvider.System, CancellationToken.None, workflow: "merge-abc12"))
        {
            Assert.True(step.IsJoined);
            await step.ConfirmAsync(CancellationToken.None);
        }

        Assert.Equal(held.Holder, (await ReadLeaseAsync())!.Holder);

        // Another workflow's step, and any driver, are refused, told which workflow the run belongs to.
        var otherWorkflow = await Assert.ThrowsAsync<RunLeaseException>(() =>
            RunLease.AcquireAsync(_store, _layout, TimeProvider.System, CancellationToken.None, workflow: "merge-zzz99"));
        var otherDriver = await Assert.ThrowsAsync<RunLeaseException>(() => AcquireAsync());
        Assert.Equal("merge-abc12", otherWorkflow.Workflow);
        Assert.Contains("following Argo Workflow merge-abc12", otherDriver.Message, StringComparison.Ordinal);

        await driver.ConfirmAsync(CancellationToken.None);
        Assert.False(driver.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task AcquireAsync_WorkflowStepWithoutALiveDriver_TakesTheLeaseItself()
    {
        // The driver that followed the workflow died: its lease expired. The step takes the lease as a driver would.
        await WriteLeaseAsync("another-host/4242/0123456789abcdef", DateTimeOffset.UtcNow.AddSeconds(-1));

        await using (var step = await RunLease.AcquireAsync(_store, _layout, TimeProvider.System, CancellationToken.None, workflow: "merge-abc12"))
        {
            Assert.False(step.IsJoined);
            await step.ConfirmAsync(CancellationToken.None);
            Assert.StartsWith(OurHolderPrefix, (await ReadLeaseAsync())!.Holder, StringComparison.Ordinal);
        }

        Assert.Null(await ReadLeaseAsync());
    }

    [Fact]
    public async Task AcquireAsync_DriversRacingOnAFolder_ExactlyOneWinsAndIsConfirmedAtOnce()
    {
        for (var round = 0; round < 20; round++)
        {
            using var start = new ManualResetEventSlim();
            var drivers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                start.Wait();
                try
                {
                    return await AcquireAsync();
                }
                catch (RunLeaseException)
                {
                    return null;
                }
            })).ToArray();
            start.Set();
            var leases = await Task.WhenAll(drivers);

            var winner = Assert.Single(leases, l => l is not null)!;

            // A new lease on a folder is created only if there was none, so it needs no read-back: confirmed before any
            // wait (a cancelled token would stop a wait at once).
            await winner.ConfirmAsync(new CancellationToken(canceled: true));
            await winner.DisposeAsync();
            Assert.Null(await ReadLeaseAsync());
        }
    }

    [Fact]
    public void SettleTime_FolderOrRemoteStore_ShortOnAFolder()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(50), RunLease.SettleTime(_store));
        Assert.Equal(TimeSpan.FromMilliseconds(250), RunLease.SettleTime(new LocatedStore(_store, "s3://bucket/prefix/")));
    }

    [Fact]
    public async Task WatchForCancelRequests_RequestAddressedToThisHolder_FiresCancelRequested()
    {
        await using var lease = await AcquireAsync();
        lease.WatchForCancelRequests(TimeSpan.FromMilliseconds(20));
        Assert.False(lease.CancelRequested.IsCancellationRequested);
        Assert.Null(lease.CancelRequest);

        var request = await RunCatalog.RequestCancelAsync(_store, _layout.RunId, "test", "because");

        await Task.Delay(Timeout.Infinite, lease.CancelRequested).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(lease.Holder, request.Driver);
        Assert.Equal(new CancelRequestRecord(1, lease.Holder, "test", request.RequestedAt, "because"), lease.CancelRequest);
        Assert.False(lease.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task WatchForCancelRequests_RequestAddressedToAnEarlierHolder_IsIgnored()
    {
        // A request to the driver before this one (the run was cancelled on it, and is resumed now), and a damaged one.
        var looked = 0;
        var store = new HookedStore(_store, key =>
        {
            if (key == _layout.CancelRequestKey)
            {
                Interlocked.Increment(ref looked);
            }

            return ValueTask.CompletedTask;
        });
        var earlier = new CancelRequestRecord(1, "other-host/1/x", "ui", DateTimeOffset.UtcNow, Reason: null);
        await _store.PutAsync(_layout.CancelRequestKey, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(earlier, LeaseJsonContext.Default.CancelRequestRecord));
        await using var lease = await AcquireAsync(store);
        lease.WatchForCancelRequests(TimeSpan.FromMilliseconds(20));

        // Until the lease has looked at the request so many times (a watcher that stopped looking fails the test).
        async Task LookedAsync(int times)
        {
            for (var waited = 0; Volatile.Read(ref looked) < times; waited += 20)
            {
                Assert.True(waited < 30_000, $"the lease looked at the request {looked} times, not {times}");
                await Task.Delay(20);
            }
        }

        await LookedAsync(3);
        await _store.PutAsync(_layout.CancelRequestKey, "{not json"u8.ToArray());
        await LookedAsync(Volatile.Read(ref looked) + 3);

        Assert.False(lease.CancelRequested.IsCancellationRequested);
        Assert.Null(lease.CancelRequest);
    }

    /// <summary>A store that says it is somewhere else.</summary>
    private sealed class LocatedStore(IObjectStore inner, string location) : ForwardingObjectStore(inner)
    {
        public override string Location => location;
    }
}
