using System.Globalization;
using System.Text;
using Dataflow.TestWorker;

namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// Cancelling a run from outside its driver (<see cref="RunCatalog.RequestCancelAsync"/>, what the live web UI does):
/// the driver that holds the run's lease finds the request and cancels its run as Ctrl+C would — its summary says
/// cancelled, on whose request, when and why — and a resume of that run is not cancelled by the same request. A run
/// that is not running cannot be asked. The drivers here look for requests every 100 ms (2 s by default).
/// </summary>
public sealed class CancelRequestTests : IDisposable
{
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(100);

    private readonly TempFolder _folder = new();
    private readonly TempFolder _traces = new();
    private readonly IObjectStore _store;
    private byte[] _expected = [];

    public CancelRequestTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose()
    {
        _folder.Dispose();
        _traces.Dispose();
    }

    private static Job MergeJob(IObjectOperator op) =>
        Job.Named("cancel-test").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");

    /// <summary>A merge whose second stage waits (until cancelled) once <paramref name="blocked"/> says so, telling <paramref name="started"/>.</summary>
    private static Job BlockingJob(TaskCompletionSource started, Func<bool>? blocked = null) =>
        MergeJob(new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task.Stage == 1 && (blocked?.Invoke() ?? true))
            {
                started.TrySetResult();
                await Task.Delay(Timeout.Infinite, token);
            }
        }));

    private static JobRunnerOptions Options(string runId, TimeSpan? poll = null) =>
        new() { RunId = runId, Concurrency = 2, CancelPollInterval = poll ?? s_poll };

    /// <summary>Starts a run of <see cref="BlockingJob"/> and returns it once its second stage is blocked.</summary>
    private async Task<Task<RunResult>> StartBlockedAsync(string runId, TimeSpan? poll = null, CancellationToken cancellationToken = default)
    {
        _expected = await Inputs.WriteAsync(_store, 8);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = new JobRunner(_store, Options(runId, poll)).RunAsync(BlockingJob(started), cancellationToken: cancellationToken);
        await Task.WhenAny(started.Task, run).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.False(run.IsCompleted, $"the run ended before it blocked: {run.Exception}");
        return run;
    }

    [Fact]
    public async Task RequestCancelAsync_RunningRun_ItsDriverCancelsItAndTheSummarySaysOnWhoseRequest()
    {
        var run = await StartBlockedAsync("asked");
        var holder = (await RunLease.ReadAsync(_store, new RunLayout("asked"), CancellationToken.None))!.Holder;

        var request = await RunCatalog.RequestCancelAsync(_store, "asked", "ui on test-host/42", "wrong input");

        Assert.Equal("asked", request.RunId);
        Assert.Equal(holder, request.Driver);
        Assert.Equal("ui on test-host/42", request.RequestedBy);
        Assert.Equal("wrong input", request.Reason);
        Assert.False(request.AlreadyRequested);
        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        var when = request.RequestedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var expected = $"cancelled on request of ui on test-host/42 at {when}Z: wrong input";
        Assert.NotNull(cancelled.Summary);
        Assert.Equal("cancelled", cancelled.Summary.Status);
        Assert.Equal(expected, cancelled.Summary.Error);
        Assert.Contains(expected, cancelled.Message, StringComparison.Ordinal);
        Assert.Equal("asked", cancelled.RunId);
        Assert.False(await _store.ExistsAsync("output/merged.txt"));

        // The stored summary and the run's state say the same; the run is not running any more, so it cannot be asked again.
        var listed = Assert.Single(await RunCatalog.ListAsync(_store));
        Assert.Equal("cancelled", listed.State);
        Assert.Equal(cancelled.Summary, listed.Summary);
        var refused = await Assert.ThrowsAsync<RunNotRunningException>(() => RunCatalog.RequestCancelAsync(_store, "asked", "ui"));
        Assert.Equal("cancelled", refused.State);
        Assert.Contains("run 'asked' cannot be cancelled: it is not running (it is cancelled)", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResumeAsync_AfterARunCancelledOnRequest_IsNotCancelledByThatRequestAndSucceeds()
    {
        var run = await StartBlockedAsync("resumed");
        await RunCatalog.RequestCancelAsync(_store, "resumed", "ui");
        await Assert.ThrowsAsync<RunCancelledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        var layout = new RunLayout("resumed");
        Assert.True(await _store.ExistsAsync(layout.CancelRequestKey), "the request stays, addressed to the driver that ended");

        // The resumed run's second stage waits until its driver has looked at the request twice: had the request been
        // taken as addressed to it, the run would be cancelled by then.
        var looked = 0;
        var watched = new HookedStore(_store, key =>
        {
            if (key == layout.CancelRequestKey)
            {
                Interlocked.Increment(ref looked);
            }

            return ValueTask.CompletedTask;
        });
        var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) =>
        {
            while (task.Stage == 1 && Volatile.Read(ref looked) < 2)
            {
                await Task.Delay(20, token);
            }
        });
        var resumed = await new JobRunner(watched, Options("resumed")).ResumeAsync(MergeJob(op), "resumed").WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("succeeded", resumed.Summary.Status);
        Assert.Null(resumed.Summary.Error);
        Assert.True(Volatile.Read(ref looked) >= 2);
        Assert.Equal(_expected, await _store.ReadAllBytesAsync("output/merged.txt"));
    }

    [Fact]
    public async Task RequestCancelAsync_AskedTwice_TheFirstRequestStandsAndNamesTheDriver()
    {
        // A driver that looks only once an hour: the requests wait for it; Ctrl+C ends the run.
        using var ctrlC = new CancellationTokenSource();
        var run = await StartBlockedAsync("twice", poll: TimeSpan.FromHours(1), ctrlC.Token);
        var layout = new RunLayout("twice");
        var holder = (await RunLease.ReadAsync(_store, layout, CancellationToken.None))!.Holder;

        var first = await RunCatalog.RequestCancelAsync(_store, "twice", "ui on a", "first");
        var second = await RunCatalog.RequestCancelAsync(_store, "twice", "ui on b", "second");

        Assert.False(first.AlreadyRequested);
        Assert.True(second.AlreadyRequested);
        Assert.Equal(first with { AlreadyRequested = true }, second);
        var stored = await RunLease.ReadCancelRequestAsync(_store, layout, CancellationToken.None);
        Assert.Equal(new CancelRequestRecord(1, holder, "ui on a", first.RequestedAt, "first"), stored);
        var json = Encoding.UTF8.GetString(await _store.ReadAllBytesAsync(layout.CancelRequestKey));
        Assert.Contains("\"schemaVersion\":1", json, StringComparison.Ordinal);
        Assert.Contains("\"requestedBy\":\"ui on a\"", json, StringComparison.Ordinal);

        // Until its driver acts on it, the run's status shows the request.
        var status = await RunCatalog.GetStatusAsync(_store, "twice");
        Assert.Equal(RunCatalog.Running, status!.Run.State);
        Assert.Equal(first, status.Run.Lease!.CancelRequest);
        var listed = System.Text.Json.JsonDocument.Parse(status.ToJson()).RootElement.GetProperty("lease").GetProperty("cancelRequest");
        Assert.Equal("ui on a", listed.GetProperty("requestedBy").GetString());
        Assert.Equal("first", listed.GetProperty("reason").GetString());

        await ctrlC.CancelAsync();
        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Null((await RunCatalog.GetStatusAsync(_store, "twice"))!.Run.Lease);
        Assert.Null(cancelled.Summary!.Error); // Ctrl+C, not the request, cancelled it
    }

    [Fact]
    public async Task RequestCancelAsync_UnknownOrFinishedRun_IsRefusedNamingTheRunAndItsState()
    {
        var unknown = await Assert.ThrowsAsync<RunNotRunningException>(() => RunCatalog.RequestCancelAsync(_store, "nowhere", "ui"));
        Assert.Equal("nowhere", unknown.RunId);
        Assert.Null(unknown.State);
        Assert.Contains("run 'nowhere' cannot be cancelled", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("holds no such run", unknown.Message, StringComparison.Ordinal);

        await Inputs.WriteAsync(_store, 4);
        await new JobRunner(_store, Options("done")).RunAsync(MergeJob(new ConcatOperator()));
        var done = await Assert.ThrowsAsync<RunNotRunningException>(() => RunCatalog.RequestCancelAsync(_store, "done", "ui"));
        Assert.Equal("succeeded", done.State);
        Assert.Contains("run 'done' cannot be cancelled: it is not running (it is succeeded)", done.Message, StringComparison.Ordinal);
        Assert.False(await _store.ExistsAsync(new RunLayout("done").CancelRequestKey));

        await Assert.ThrowsAsync<ArgumentException>(() => RunCatalog.RequestCancelAsync(_store, "done", " "));
    }

    [Fact]
    public async Task RequestCancelAsync_WorkerProcesses_TheWorkersAreKilledAndTheRunEndsCancelled()
    {
        await Inputs.WriteAsync(_store, 8, size: 3);
        var victim = new TaskId(0, 1);
        await File.WriteAllTextAsync(PoolTestJob.HangFile(_traces.Path, victim, attempt: 1), "");
        var options = Options("processes") with
        {
            MaxAttempts = 1,
            Arguments = [],
            Executor = Executor.WorkerProcesses(new ProcessExecutorOptions
            {
                Command = ["dotnet", TestWorkerProgram.Path()],
                Environment = new Dictionary<string, string> { [PoolTestJob.FolderVariable] = _traces.Path },
            }),
        };
        var run = new JobRunner(_store, options).RunAsync(PoolTestJob.Create(_traces.Path));
        var hanging = PoolTestJob.HangingFile(_traces.Path, victim);
        while (!File.Exists(hanging) || (await File.ReadAllTextAsync(hanging)).Length == 0)
        {
            Assert.False(run.IsCompleted, $"the run ended before task {victim} hung: {run.Exception}");
            await Task.Delay(20);
        }

        var pid = int.Parse(await File.ReadAllTextAsync(hanging), CultureInfo.InvariantCulture);
        await RunCatalog.RequestCancelAsync(_store, "processes", "ui on test-host/7");

        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => run.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal("cancelled", cancelled.Summary!.Status);
        Assert.StartsWith("cancelled on request of ui on test-host/7 at ", cancelled.Summary.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}"), "the worker running the task outlived the cancelled run");
        Assert.All(
            PoolTestJob.TracedAttempts(_traces.Path).Select(a => a.Pid).Distinct(),
            p => Assert.False(Directory.Exists($"/proc/{p.ToString(CultureInfo.InvariantCulture)}"), $"worker process {p} outlived the cancelled run"));
    }
}
