using System.Collections.Concurrent;
using System.Text;
using Dataflow.TestWorker;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// Failed attempts stored as the run goes on (<c>failures/s&lt;stage&gt;/t&lt;task&gt;.&lt;attempt-id&gt;.json</c>, read
/// with <see cref="RunFailures.ReadAsync"/>), for a live view of a running run: readable while the run still works,
/// complete once it ended, kept by the run's clean-up and <c>gc</c>, at most a set number per driver, and never the
/// cause of a failed run.
/// </summary>
public sealed class FailureRecordTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly TempFolder _traces = new();
    private readonly IObjectStore _store;

    public FailureRecordTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose()
    {
        _folder.Dispose();
        _traces.Dispose();
    }

    private static Job MergeJob(IObjectOperator op) =>
        Job.Named("failing").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");

    private static JobRunnerOptions Options(string runId, int maxAttempts = 3) =>
        new() { RunId = runId, Concurrency = 2, MaxAttempts = maxAttempts, RetryDelay = TimeSpan.Zero };

    [Fact]
    public async Task Run_TaskFailsTwiceThenSucceeds_BothFailuresAreReadableWhileTheRunGoesOnAndStayAfterGc()
    {
        var expected = await Inputs.WriteAsync(_store, 8);
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task == new TaskId(0, 1) && attempt <= 2)
            {
                throw new IOException($"the disk hiccuped on attempt {attempt}");
            }

            if (task.Stage == 1)
            {
                // After the failures (stage 1 reads task 0/1's output): the run waits here while the test reads.
                blocked.TrySetResult();
                await gate.Task.WaitAsync(token);
            }
        });
        var started = DateTimeOffset.UtcNow;
        var run = new JobRunner(_store, Options("flaky")).RunAsync(MergeJob(op));
        await Task.WhenAny(blocked.Task, run).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.False(run.IsCompleted, $"the run ended before it blocked: {run.Exception}");

        // Written off the failing task's path: they land a moment after the attempts failed.
        var failures = await ReadUntilAsync("flaky", 2);

        Assert.False(run.IsCompleted);
        Assert.Equal(2, failures.Total);
        Assert.Empty(failures.Damaged);
        Assert.Equal([2, 1], failures.Failures.Select(f => f.Attempt));
        Assert.All(failures.Failures, f =>
        {
            Assert.Equal(new TaskId(0, 1), f.Task);
            Assert.Equal($"the disk hiccuped on attempt {f.Attempt}", f.Error);
            Assert.Equal("System.IO.IOException", f.ErrorType);
            Assert.False(f.Permanent);
            Assert.False(f.LostInput);
            Assert.Null(f.Worker); // the driver's own process
            Assert.StartsWith($"a0{f.Attempt}-", f.AttemptId, StringComparison.Ordinal);
            Assert.InRange(f.StartedAt, started.AddSeconds(-1), f.EndedAt);
            Assert.Equal(TimeSpan.Zero, f.EndedAt.Offset);
        });
        var layout = new RunLayout("flaky");
        Assert.True(await _store.ExistsAsync(layout.FailureKey(new TaskId(0, 1), failures.Failures[0].AttemptId!)));
        var json = Encoding.UTF8.GetString(await _store.ReadAllBytesAsync(layout.FailureKey(new TaskId(0, 1), failures.Failures[1].AttemptId!)));
        Assert.StartsWith("{\"schemaVersion\":1,\"task\":\"0/1\",\"attempt\":1,", json, StringComparison.Ordinal);

        gate.SetResult();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(expected, await _store.ReadAllBytesAsync("output/merged.txt"));

        // Records, not data: the run's end, gc and the listing keep them apart from the intermediate data.
        await RunCatalog.CleanAsync(_store, "flaky", keepData: false);
        var after = await RunFailures.ReadAsync(_store, "flaky", 10, CancellationToken.None);
        Assert.Equal(failures.Failures, after.Failures);
        var listed = Assert.Single(await RunCatalog.ListAsync(_store));
        Assert.Equal(0, listed.IntermediateObjects);
        Assert.Equal("succeeded", listed.State);
    }

    [Fact]
    public async Task Run_TaskFailsPermanently_ItsRecordSaysPermanentAndIsStoredBeforeTheSummary()
    {
        await Inputs.WriteAsync(_store, 4);
        var op = new ScriptedOperator(new ConcatOperator(), (task, attempt, context, token) =>
            task == new TaskId(0, 1) ? throw new PermanentTaskException("a record is not a number") : ValueTask.CompletedTask);

        await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, Options("permanent")).RunAsync(MergeJob(op)));

        // The run has ended: every failure record is in, with no waiting.
        var failures = await RunFailures.ReadAsync(_store, "permanent", 10, CancellationToken.None);
        var failure = Assert.Single(failures.Failures);
        Assert.Equal(1, failures.Total);
        Assert.Equal(new TaskId(0, 1), failure.Task);
        Assert.Equal(1, failure.Attempt);
        Assert.True(failure.Permanent);
        Assert.Equal(typeof(PermanentTaskException).FullName, failure.ErrorType);
        Assert.Equal("a record is not a number", failure.Error);
    }

    [Fact]
    public async Task Run_MoreFailuresThanTheCap_RecordsTheCapAndLogsOnceThatTheRestAreCounted()
    {
        var logs = new Messages();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        await Inputs.WriteAsync(_store, 8);
        var op = new ScriptedOperator(new ConcatOperator(), (task, attempt, context, token) =>
            task.Stage == 0 && attempt == 1 ? throw new IOException("first attempts fail") : ValueTask.CompletedTask);

        var result = await new JobRunner(_store, Options("capped") with { MaxFailureRecords = 2, LoggerFactory = factory }).RunAsync(MergeJob(op));

        Assert.Equal(4, result.Summary.Retries);
        var failures = await RunFailures.ReadAsync(_store, "capped", 10, CancellationToken.None);
        Assert.Equal(2, failures.Total);
        Assert.Equal(2, failures.Failures.Count);
        Assert.Single(logs.All, m => m == (LogLevel.Information, "2 failed attempts are recorded in the store; further failures are counted only"));
        Assert.DoesNotContain(logs.All, m => m.Level == LogLevel.Warning && m.Message.Contains("failure record", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_FailureRecordCannotBeStored_TheRunSucceedsAndLogsAWarning()
    {
        var logs = new Messages();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        await Inputs.WriteAsync(_store, 4);
        var faulty = new FaultyStore(_store, key => key.StartsWith(new RunLayout("unstored").FailuresPrefix, StringComparison.Ordinal));
        var op = new ScriptedOperator(new ConcatOperator(), (task, attempt, context, token) =>
            task == new TaskId(0, 0) && attempt == 1 ? throw new IOException("once") : ValueTask.CompletedTask);

        var result = await new JobRunner(faulty, Options("unstored") with { LoggerFactory = factory }).RunAsync(MergeJob(op));

        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(0, (await RunFailures.ReadAsync(_store, "unstored", 10, CancellationToken.None)).Total);
        var warning = Assert.Single(logs.All, m => m.Level == LogLevel.Warning && m.Message.StartsWith("The failure record ", StringComparison.Ordinal));
        Assert.Contains("injected write failure", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_DamagedRecordAndMoreThanAsked_ReportsTheDamagedOneAndTheTotal()
    {
        var layout = new RunLayout("read");
        var at = new DateTimeOffset(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);
        for (var i = 1; i <= 3; i++)
        {
            var record = new FailureRecord { Task = new TaskId(0, i), Attempt = 1, StartedAt = at, EndedAt = at.AddMinutes(i), Error = $"error {i}" };
            await _store.PutAsync(layout.FailureKey(record.Task, $"a01-0000000{i}"), RunRecords.Serialize(record));
        }

        var damagedKey = layout.FailureKey(new TaskId(0, 9), "a01-99999999");
        await _store.PutAsync(damagedKey, "{\"schemaVersion\":1,"u8.ToArray());

        var all = await RunFailures.ReadAsync(_store, "read", 10, CancellationToken.None);
        Assert.Equal(4, all.Total);
        Assert.Equal(["error 3", "error 2", "error 1"], all.Failures.Select(f => f.Error));
        var damaged = Assert.Single(all.Damaged);
        Assert.Equal(damagedKey, damaged.Key);
        Assert.Contains("failure record", damaged.Problem, StringComparison.Ordinal);

        var none = await RunFailures.ReadAsync(_store, "read", 0, CancellationToken.None);
        Assert.Equal(4, none.Total);
        Assert.Empty(none.Failures);
        Assert.Equal(0, (await RunFailures.ReadAsync(_store, "no-such-run", 10, CancellationToken.None)).Total);
    }

    [Fact]
    public async Task Run_WorkerProcessAttemptFails_ItsRecordNamesTheWorkerAndItsError()
    {
        var expected = await Inputs.WriteAsync(_store, 4, size: 3);
        var victim = new TaskId(0, 1);
        await File.WriteAllTextAsync(PoolTestJob.FailOnceFile(_traces.Path, victim), "");
        var options = Options("processes") with
        {
            Arguments = [],
            Executor = Executor.WorkerProcesses(new ProcessExecutorOptions
            {
                Command = ["dotnet", TestWorkerProgram.Path()],
                Environment = new Dictionary<string, string> { [PoolTestJob.FolderVariable] = _traces.Path },
            }),
        };

        var result = await new JobRunner(_store, options).RunAsync(PoolTestJob.Create(_traces.Path)).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(expected, await _store.ReadAllBytesAsync(PoolTestJob.Output));
        Assert.Equal(1, result.Summary.Retries);
        var failure = Assert.Single((await RunFailures.ReadAsync(_store, "processes", 10, CancellationToken.None)).Failures);
        Assert.Equal(victim, failure.Task);
        Assert.Equal(1, failure.Attempt);
        Assert.Matches(@"^worker \d \(pid \d+\)$", failure.Worker);
        Assert.Contains("task 0/1 fails once, as the test asked", failure.Error, StringComparison.Ordinal);
        Assert.Equal(typeof(WorkerProcessException).FullName, failure.ErrorType);
        Assert.False(failure.Permanent);
    }

    /// <summary>Reads the run's failure records until there are <paramref name="count"/>.</summary>
    private async Task<RunFailureList> ReadUntilAsync(string runId, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var failures = await RunFailures.ReadAsync(_store, runId, 10, CancellationToken.None);
            if (failures.Total >= count || DateTime.UtcNow > deadline)
            {
                return failures;
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Keeps each message logged, with its level.</summary>
    private sealed class Messages : ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message)> _all = new();

        public IReadOnlyList<(LogLevel Level, string Message)> All => [.. _all];

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _all.Enqueue((logLevel, formatter(state, exception)));

        public void Dispose()
        {
        }
    }
}
