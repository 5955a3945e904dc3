using Xunit.Abstractions;

namespace Dataflow.Worker.Tests.Faults;

/// <summary>Whole jobs on the real S3 test server through <see cref="FaultProxy"/>.</summary>
public sealed class S3JobFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int MiB = 1 << 20;

    /// <summary>Where the S3 store journals its multipart uploads (until each is completed or aborted).</summary>
    private const string UploadJournal = "_dataflow/uploads/";

    private readonly string _bucket = S3TestServer.NewBucket("faults-job");
    private IObjectStore _direct = null!;

    public async Task InitializeAsync() => _direct = await S3TestServer.OpenAsync(_bucket);

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_direct);
        await _direct.DisposeAsync();
    }

    /// <summary>
    /// A fifth of the requests meet a fault of any kind the proxy has, whatever the request — so possibly a lost answer
    /// to "start a multipart upload" (an upload only the run's final clean-up finds) or to "complete" (retried). No
    /// request meets more than two in a row, so each one gets through within the store's 4 attempts. Besides, the
    /// first request matching <paramref name="doomed"/> fails all 4 of its attempts (500): that fails the task's
    /// attempt, and the task runner's retry (a new attempt, under new keys) gets through.
    /// </summary>
    private static FaultOptions Intermittent(int seed, Func<ProxyRequest, bool> doomed)
    {
        string? identity = null;
        return new FaultOptions
        {
            Seed = seed,
            Rate = 0.2,
            Kinds = [FaultKind.SlowDown, FaultKind.InternalError, FaultKind.DropRequest, FaultKind.DropResponse, FaultKind.TruncateBody],

            // Called under the proxy's lock.
            Rule = (request, seen) =>
            {
                if (identity is null && doomed(request))
                {
                    identity = request.Identity;
                }

                return request.Identity == identity && seen < 4 ? FaultKind.InternalError : FaultKind.None;
            },
        };
    }

    /// <summary>
    /// The default 3 attempts per task, not raised: the store's own attempts absorb intermittent faults, and the one
    /// doomed request costs one task retry. Short back-off keeps the tests quick.
    /// </summary>
    private static JobRunnerOptions Runner() => new()
    {
        Concurrency = 4,
        MaxAttempts = 3,
        RetryDelay = TimeSpan.FromMilliseconds(10),
        TaskTimeout = TimeSpan.FromMinutes(1),
    };

    private static Job Merge(int fanIn, string outputKey) =>
        Job.Named("faults").FromPrefix("input/").ReduceTree(fanIn, new ConcatOperator()).WriteTo(outputKey);

    [Fact]
    public async Task RunAsync_SmallInputsWithIntermittentFaults_SameOutputAsWithoutFaults()
    {
        var expected = await Inputs.WriteAsync(_direct, 64, size: 1);

        // Doomed: the first read of an input byte by the final task's compose.
        var faulty = await RunCleanThenFaultyAsync(fanIn: 2, Intermittent(seed: 42, r => r.Method == "GET" && r.Path.Contains("/input/", StringComparison.Ordinal)));

        Assert.Equal(expected, faulty);
    }

    [Fact]
    public async Task RunAsync_LargeInputsWithIntermittentFaults_SameOutputAsWithoutFaults()
    {
        // 6 MiB each: the final output is a multipart upload of server-side copies (UploadPartCopy).
        var expected = await Inputs.WriteAsync(_direct, 6, size: 6 * MiB);

        // Doomed: the first server-side copy of a part.
        var faulty = await RunCleanThenFaultyAsync(fanIn: 2, Intermittent(seed: 43, r => r.IsUploadPartCopy), proxy =>
            Assert.True(proxy.Seen(r => r.IsUploadPartCopy) >= 6 && proxy.Seen(r => r.IsCompleteUpload) >= 1, "the output was composed by UploadPartCopy"));

        Assert.Equal(expected.Length, faulty.Length);
        Assert.True(expected.AsSpan().SequenceEqual(faulty), "the output is the inputs' concatenation");
    }

    [Fact]
    public async Task RunAsync_EveryPartUploadAnswered500_FailsAndTheWritersAbortTheirUploads()
    {
        await WritePartInputsAsync();
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions
        {
            Rule = (request, _) => request.IsUploadPart || request.IsUploadPartCopy ? FaultKind.InternalError : FaultKind.None,
        });
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);

        var error = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, Runner()).RunAsync(Merge(3, "output/merged.bin")));

        output.WriteLine(proxy.Describe());
        Assert.Equal("failed", error.Summary.Status);
        Assert.Equal(1, error.Summary.Failed);
        Assert.Equal(3, error.Summary.Attempts);
        Assert.False(await _direct.ExistsAsync("output/merged.bin"));
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
        Assert.Empty(await _direct.ListAllAsync(UploadJournal));

        // Every attempt started an upload, its parts failed (4 times each), and its writer aborted it before the
        // next attempt began: the run's clean-up found nothing left to abort.
        Assert.Equal("start abort start abort start abort", UploadHistory(proxy));
        Assert.True(proxy.Count(FaultKind.InternalError) >= 3 * 4, proxy.Describe());
    }

    [Fact]
    public async Task RunAsync_PartUploadsAndAbortsFail_TheRunsCleanUpAbortsTheUploads()
    {
        await WritePartInputsAsync();
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions
        {
            // A writer's abort (4 attempts) fails too, so the upload stays in the journal; the fifth try succeeds.
            Rule = (request, seen) =>
                request.IsUploadPart || request.IsUploadPartCopy || (request.IsAbortUpload && seen < 4) ? FaultKind.InternalError : FaultKind.None,
        });
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);

        var error = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, Runner()).RunAsync(Merge(3, "output/merged.bin")));

        output.WriteLine(proxy.Describe());
        Assert.Equal("failed", error.Summary.Status);
        Assert.False(await _direct.ExistsAsync("output/merged.bin"));
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
        Assert.Empty(await _direct.ListAllAsync(UploadJournal));

        // Each of the 3 uploads: 4 failed aborts by its writer; at the end, 1 more each by the run's clean-up.
        var writer = "start " + string.Join(' ', Enumerable.Repeat("abort", 4));
        Assert.Equal($"{writer} {writer} {writer} abort abort abort", UploadHistory(proxy));
        Assert.Equal(3 * 4, proxy.Matching(r => r.IsAbortUpload && r.Repeat < 4).Count);
    }

    /// <summary>The starts and aborts of multipart uploads the proxy saw, in order.</summary>
    private static string UploadHistory(FaultProxy proxy) =>
        string.Join(' ', proxy.Matching(r => r.IsInitiateUpload || r.IsAbortUpload).Select(r => r.IsInitiateUpload ? "start" : "abort"));

    /// <summary>6 MiB, 1 KiB, 6 MiB: composing them takes a server-side copy and an upload of bytes read.</summary>
    private async Task WritePartInputsAsync()
    {
        await _direct.PutAsync("input/0", new byte[6 * MiB]);
        await _direct.PutAsync("input/1", new byte[1024]);
        await _direct.PutAsync("input/2", new byte[6 * MiB]);
    }

    /// <summary>
    /// Runs the merge through the proxy without faults, then again with <paramref name="faults"/>; checks that both
    /// succeed with the same bytes and leave nothing behind, and that faults were injected. Returns the output.
    /// </summary>
    private async Task<byte[]> RunCleanThenFaultyAsync(int fanIn, FaultOptions faults, Action<FaultProxy>? check = null)
    {
        await using var proxy = new FaultProxy(S3TestServer.Endpoint);
        await using var store = await S3TestServer.OpenAsync(_bucket, proxy);

        var clean = await new JobRunner(store, Runner()).RunAsync(Merge(fanIn, "output/clean.bin"));
        var cleanRequests = proxy.Requests;
        Assert.Equal(0, proxy.Faults);

        proxy.SetFaults(faults);
        var faulty = await new JobRunner(store, Runner()).RunAsync(Merge(fanIn, "output/faulty.bin"));

        output.WriteLine($"clean run: {cleanRequests} requests, {clean.Summary.Attempts} task attempts; faulty run: {proxy.Describe()}, {faulty.Summary.Attempts} task attempts ({faulty.Summary.Retries} retries)");
        output.WriteLine(proxy.Log);
        var cleanBytes = await _direct.ReadAllBytesAsync("output/clean.bin");
        var faultyBytes = await _direct.ReadAllBytesAsync("output/faulty.bin");
        Assert.True(cleanBytes.AsSpan().SequenceEqual(faultyBytes), "the same output with and without faults");
        foreach (var summary in new[] { clean.Summary, faulty.Summary })
        {
            Assert.Equal("succeeded", summary.Status);
            Assert.Equal(0, summary.IntermediateObjectsLeft);
            var layout = new RunLayout(summary.RunId);
            Assert.Empty(await _direct.ListAllAsync(layout.DataPrefix));
            Assert.Empty(await _direct.ListAllAsync(UploadJournal));
        }

        // On the server itself: no multipart upload left open by either run.
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
        Assert.Equal(0, clean.Summary.Retries);
        Assert.True(faulty.Summary.Retries >= 1, "the doomed request failed a task attempt, and the task was retried");

        // The store's own retries are counted, in the summary and the report.
        Assert.Equal(0, clean.Summary.StoreRetries);
        Assert.True(faulty.Summary.StoreRetries > 0, $"no store retries counted: {faulty.Summary.ToJson()}");
        var report = RunRecords.DeserializeReport(await _direct.ReadAllBytesAsync(new RunLayout(faulty.Summary.RunId).ReportKey));
        Assert.Equal(faulty.Summary.StoreRetries, report.Summary.StoreRetries);
        Assert.True(proxy.Count(FaultKind.InternalError) >= 4 && proxy.Faults > 4, proxy.Describe());
        check?.Invoke(proxy);
        return faultyBytes;
    }
}
