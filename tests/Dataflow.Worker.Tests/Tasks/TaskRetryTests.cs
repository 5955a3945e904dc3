namespace Dataflow.Worker.Tests.Tasks;

/// <summary>The task retry loop: how many attempts, which failures are retried, back-off, and the attempt timeout.</summary>
public sealed class TaskRetryTests
{
    private static JobRunnerOptions Options(int attempts, TimeSpan? timeout = null) => new()
    {
        MaxAttempts = attempts,
        RetryDelay = TimeSpan.Zero,
        TaskTimeout = timeout ?? Timeout.InfiniteTimeSpan,
    };

    [Fact]
    public async Task ExecuteAsync_FailsTwiceThenSucceeds_ReturnsAfterThreeAttempts()
    {
        var attempts = 0;
        var result = await new TaskRetry<int>(Options(3)).ExecuteAsync(
            _ => ++attempts < 3 ? throw new IOException("flaky") : ValueTask.FromResult(attempts),
            CancellationToken.None);

        Assert.Equal(3, result);
    }

    [Fact]
    public async Task ExecuteAsync_EveryAttemptFails_ThrowsTheLastErrorAfterMaxAttempts()
    {
        var attempts = 0;
        var error = await Assert.ThrowsAsync<IOException>(async () => await new TaskRetry<int>(Options(4)).ExecuteAsync(
            _ => throw new IOException($"failure {++attempts}"),
            CancellationToken.None));

        Assert.Equal(4, attempts);
        Assert.Equal("failure 4", error.Message);
    }

    [Fact]
    public async Task ExecuteAsync_PermanentFailure_IsNotRetried()
    {
        var attempts = 0;
        await Assert.ThrowsAsync<WorkerProcessException>(async () => await new TaskRetry<int>(Options(5)).ExecuteAsync(
            _ =>
            {
                attempts++;
                throw new WorkerProcessException("usage error", permanent: true);
            },
            CancellationToken.None));

        Assert.Equal(1, attempts);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteAsync_JobFindsTheFailurePermanent_IsNotRetried(bool byRule)
    {
        var job = Job.Named("rules").FromPrefix("in/").FailPermanentlyOn(e => e is FormatException).ReduceTree(2, new ConcatOperator()).WriteTo("out");
        var retry = new TaskRetry<int>(Options(5), isPermanent: job.IsPermanentFailure);
        var attempts = 0;

        await Assert.ThrowsAnyAsync<Exception>(async () => await retry.ExecuteAsync(
            _ =>
            {
                attempts++;
                throw byRule ? new InvalidDataException("wrapped", new FormatException("not a number")) : new PermanentTaskException("bad input");
            },
            CancellationToken.None));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task ExecuteAsync_FailureTheJobsRuleDoesNotName_IsRetried()
    {
        var job = Job.Named("rules").FromPrefix("in/").FailPermanentlyOn(e => e is FormatException).ReduceTree(2, new ConcatOperator()).WriteTo("out");
        var retry = new TaskRetry<int>(Options(3), isPermanent: job.IsPermanentFailure);
        var attempts = 0;

        await Assert.ThrowsAsync<IOException>(async () => await retry.ExecuteAsync(_ => throw new IOException($"flaky {++attempts}"), CancellationToken.None));

        Assert.Equal(3, attempts);
        Assert.False(retry.IsPermanent(new IOException("flaky")));
    }

    [Fact]
    public async Task ExecuteAsync_AttemptPassesTheTimeout_IsStoppedAndRetriedThenFailsWithTheTimeout()
    {
        var attempts = 0;
        var error = await Assert.ThrowsAsync<TaskTimeoutException>(async () => await new TaskRetry<int>(Options(2, TimeSpan.FromMilliseconds(50))).ExecuteAsync(
            async token =>
            {
                attempts++;
                await Task.Delay(Timeout.Infinite, token);
                return 0;
            },
            CancellationToken.None));

        Assert.Equal(2, attempts);
        Assert.Equal(TimeSpan.FromMilliseconds(50), error.Timeout);
        Assert.Contains("timed out after", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_RunCancelled_StopsWithoutAnotherAttempt()
    {
        using var cancel = new CancellationTokenSource();
        var attempts = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await new TaskRetry<int>(Options(5)).ExecuteAsync(
            token =>
            {
                attempts++;
                cancel.Cancel();
                token.ThrowIfCancellationRequested();
                return ValueTask.FromResult(0);
            },
            cancel.Token));

        Assert.Equal(1, attempts);
    }

    [Theory]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(4, 800)]
    [InlineData(20, 30_000)]
    public void Backoff_DoublesFromTheDelayUpTo30s_WithJitterBetweenHalfAndAll(int attempt, double fullMs)
    {
        var retry = new TaskRetry<int>(new JobRunnerOptions { RetryDelay = TimeSpan.FromMilliseconds(100) });

        for (var i = 0; i < 50; i++)
        {
            var wait = retry.Backoff(attempt).TotalMilliseconds;
            Assert.InRange(wait, fullMs * 0.5, fullMs);
        }
    }
}
