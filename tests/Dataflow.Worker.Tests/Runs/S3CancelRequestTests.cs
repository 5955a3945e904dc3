namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// The live view's records on the S3 test server: a running run's failure record is readable while it runs, and a
/// cancel request made through the bucket cancels it, its summary naming who asked.
/// </summary>
public sealed class S3CancelRequestTests : IAsyncLifetime
{
    private readonly string _bucket = S3TestServer.NewBucket("cancel");
    private IObjectStore _store = null!;

    public async Task InitializeAsync() => _store = await S3TestServer.OpenAsync(_bucket);

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_store);
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task RunOnS3_FailureRecordReadWhileItRunsThenCancelledOnRequest()
    {
        await Inputs.WriteAsync(_store, 4);
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var op = new ScriptedOperator(new ConcatOperator(), async (task, attempt, context, token) =>
        {
            if (task == new TaskId(0, 0) && attempt == 1)
            {
                throw new IOException("the bucket hiccuped");
            }

            if (task.Stage == 1)
            {
                blocked.TrySetResult();
                await Task.Delay(Timeout.Infinite, token);
            }
        });
        var job = Job.Named("s3-cancel").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");
        var options = new JobRunnerOptions { RunId = "s3-asked", Concurrency = 2, RetryDelay = TimeSpan.Zero, CancelPollInterval = TimeSpan.FromMilliseconds(100) };
        var run = new JobRunner(_store, options).RunAsync(job);
        await Task.WhenAny(blocked.Task, run).WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.False(run.IsCompleted, $"the run ended before it blocked: {run.Exception}");

        var failures = await RunFailures.ReadAsync(_store, "s3-asked", 10, CancellationToken.None);
        for (var waited = 0; failures.Total == 0 && waited < 30_000; waited += 50)
        {
            await Task.Delay(50);
            failures = await RunFailures.ReadAsync(_store, "s3-asked", 10, CancellationToken.None);
        }

        var failure = Assert.Single(failures.Failures);
        Assert.Equal(new TaskId(0, 0), failure.Task);
        Assert.Equal("the bucket hiccuped", failure.Error);
        Assert.Equal(RunCatalog.Running, Assert.Single(await RunCatalog.ListAsync(_store)).State);

        await RunCatalog.RequestCancelAsync(_store, "s3-asked", "ui on test-host/3");

        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("cancelled", cancelled.Summary!.Status);
        Assert.StartsWith("cancelled on request of ui on test-host/3 at ", cancelled.Summary.Error, StringComparison.Ordinal);
        Assert.Equal("cancelled", Assert.Single(await RunCatalog.ListAsync(_store)).State);
        Assert.Equal(1, (await RunFailures.ReadAsync(_store, "s3-asked", 10, CancellationToken.None)).Total);
    }
}
