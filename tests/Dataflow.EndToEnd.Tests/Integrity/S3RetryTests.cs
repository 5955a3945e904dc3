namespace Dataflow.EndToEnd.Tests.Integrity;

/// <summary>
/// The store's own retries, as a user of the program sees them: a run on S3 whose requests meet transient faults
/// (through <see cref="FaultProxy"/>) counts them in its summary and logs each at <c>--log-level debug</c>.
/// </summary>
public sealed class S3RetryTests : IAsyncLifetime
{
    private readonly string _bucket = S3TestServer.NewBucket("e2e-retries");
    private IObjectStore _direct = null!;

    public async Task InitializeAsync() => _direct = await S3TestServer.OpenAsync(_bucket);

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_direct);
        await _direct.DisposeAsync();
    }

    [Fact]
    public async Task Run_RequestsMeetTransientFaults_SummaryCountsStoreRetriesAndDebugLogsEach()
    {
        // Every third PUT of the run's own objects meets a 500 once: the store retries it, the run never sees it. (Not
        // the summary's and report's own PUTs: retries of writing the summary cannot be counted in it.)
        var puts = 0;
        await using var proxy = new FaultProxy(S3TestServer.Endpoint, new FaultOptions
        {
            Rule = (request, seen) => request.Method == "PUT" && request.Path.Contains("/_dataflow/runs/", StringComparison.Ordinal)
                && !request.Path.EndsWith("/summary.json", StringComparison.Ordinal) && !request.Path.Contains("/report.", StringComparison.Ordinal)
                && seen == 0 && ++puts % 3 == 0 ? FaultKind.InternalError : FaultKind.None,
        });
        var environment = S3TestServer.ProgramEnvironment();
        environment["AWS_ENDPOINT_URL"] = proxy.Endpoint.ToString();

        var run = await ProgramRunner.RunAsync("merge-files", environment, "run", "--store", $"s3://{_bucket}/retries", "--files", "32", "--json", "--progress", "none", "--log-level", "debug");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(run.Json().GetProperty("verified").GetBoolean(), run.ToString());
        var retries = run.Json().GetProperty("storeRetries").GetInt64();
        Assert.True(proxy.Faults > 0, proxy.Describe());
        Assert.Equal(proxy.Faults, retries);
        var logged = run.Stderr.Split('\n').Where(l => l.Contains("S3 request to", StringComparison.Ordinal)).ToList();
        Assert.Equal(retries, logged.Count);
        Assert.All(logged, l => Assert.Contains("500 InternalError", l, StringComparison.Ordinal));
        // Each names the request's key and bucket: the faulted PUT's own key, or, for a part copied from another object
        // (a compose), the key the store logs for that request; the whole line is shown if one does not.
        Assert.All(logged, l => Assert.True(l.Contains($"' in bucket {_bucket} failed on attempt", StringComparison.Ordinal), l));
    }
}
