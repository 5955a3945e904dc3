using System.IO.Hashing;
using System.Text.RegularExpressions;

namespace Dataflow.Worker.Tests.Commits;

/// <summary>
/// Final outputs on the S3 test server are written (or composed) where they belong and published by completing their
/// upload: nothing is copied after the last task, nothing but the output and the run's records stays, and a final task
/// retried after its upload was staged still gives exactly one output, the winner's.
/// </summary>
public sealed partial class S3PublishTests : IAsyncLifetime
{
    private const int MiB = 1 << 20;

    private readonly string _bucket = S3TestServer.NewBucket("publish");
    private IObjectStore _direct = null!;

    public async Task InitializeAsync() => _direct = await S3TestServer.OpenAsync(_bucket);

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_direct);
        await _direct.DisposeAsync();
    }

    [GeneratedRegex("^\"[0-9a-f]{32}-[0-9]+\"$")]
    private static partial Regex MultipartTag();

    [Theory]
    [InlineData(RecoveryTests.Kind.Composed)]
    [InlineData(RecoveryTests.Kind.Written)]
    public async Task Merge_OutputAboveThePartSize_IsPublishedWithoutACopyAndOnlyTheOutputAndRecordsRemain(RecoveryTests.Kind kind)
    {
        var expected = await PutInputsAsync(count: 4, size: 3 * MiB);
        IObjectOperator op = kind == RecoveryTests.Kind.Composed ? new ConcatOperator() : new CopyConcatOperator();
        var job = Job.Named("s3-publish").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.bin");

        var result = await new JobRunner(_direct, new JobRunnerOptions { Concurrency = 2 }).RunAsync(job);

        Assert.Equal("succeeded", result.Summary.Status);
        var layout = new RunLayout(result.Summary.RunId);
        var output = await _direct.HeadAsync("output/merged.bin");
        Assert.NotNull(output);
        Assert.Equal(expected.Length, output.Size);
        Assert.True(Enumerable.SequenceEqual(expected, await _direct.ReadAllBytesAsync("output/merged.bin")), "the output is not the inputs' concatenation");

        // A copy (CopyObject) would have a plain MD5 tag: this one is the upload's own, as the winning commit recorded.
        Assert.Matches(MultipartTag(), output.ETag);
        var winner = (await CommitIndex.LoadAllAsync(_direct, layout, CancellationToken.None))[result.Plan.Outputs[0].Task];
        var committed = winner.GetOutput(result.Plan.Outputs[0].Output);
        Assert.NotNull(committed.Staged);
        Assert.Equal(output.ETag, committed.ETag);

        var left = (await _direct.ListAllAsync("")).Select(i => i.Key).Where(k => !k.StartsWith("input/", StringComparison.Ordinal)).ToList();
        Assert.Contains("output/merged.bin", left);
        Assert.All(left.Where(k => k != "output/merged.bin"), k => Assert.StartsWith(layout.Root, k, StringComparison.Ordinal));
        Assert.DoesNotContain(left, k => k.StartsWith(layout.DataPrefix, StringComparison.Ordinal) || k.StartsWith(layout.Root + "staged/", StringComparison.Ordinal));
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
    }

    [Fact]
    public async Task Merge_FinalTaskRetriedAfterItsUploadWasStaged_GivesOneOutputWithTheCommittedChecksum()
    {
        var expected = await PutInputsAsync(count: 2, size: 6 * MiB);
        var job = Job.Named("s3-retry").FromPrefix("input/").ReduceTree(2, new CopyConcatOperator()).WriteTo("output/merged.bin");

        // The first commit after an output was staged fails: the attempt that staged it does not commit, and a second
        // attempt stages its own upload of the same key.
        var store = new FailFirstCommitAfterStagingStore(_direct);
        var result = await new JobRunner(store, new JobRunnerOptions { Concurrency = 1, MaxAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(job);

        Assert.Equal("succeeded", result.Summary.Status);
        Assert.Equal(1, store.CommitsFailed);
        Assert.Equal(2, store.StagedWrites);
        Assert.True(result.Summary.Retries >= 1, result.Summary.ToJson());
        var bytes = await _direct.ReadAllBytesAsync("output/merged.bin");
        Assert.True(expected.SequenceEqual(bytes), "the output is not the inputs' concatenation");
        var layout = new RunLayout(result.Summary.RunId);
        var winner = (await CommitIndex.LoadAllAsync(_direct, layout, CancellationToken.None))[result.Plan.Outputs[0].Task];
        Assert.Equal(2, winner.Attempt);
        Assert.Equal(Checksums.Format(Hash(bytes)), winner.GetOutput(result.Plan.Outputs[0].Output).Checksum);

        // One output; the first attempt's staged upload was discarded with the run's clean-up.
        Assert.Single((await _direct.ListAllAsync("output/")).Select(i => i.Key));
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
        Assert.Empty(await _direct.ListAllAsync("_dataflow/uploads/"));
    }

    [Fact]
    public async Task Resume_RunThatFailedToPublish_PublishedNothingAndRunsTheFinalTaskAgain()
    {
        var expected = await PutInputsAsync(count: 2, size: 6 * MiB);
        var job = Job.Named("s3-discarded").FromPrefix("input/").ReduceTree(2, new CopyConcatOperator()).WriteTo("output/merged.bin");

        // Publishing fails, so the run fails: it publishes nothing, and its clean-up discards the staged upload.
        // (The wrappers are not disposed: that would dispose the store they forward to, which the test goes on using.)
        var failing = new FailPublishingStore(_direct);
        await Assert.ThrowsAnyAsync<Exception>(() => new JobRunner(failing, new JobRunnerOptions { Concurrency = 1, RunId = "stopped" }).RunAsync(job));

        Assert.Null(await _direct.HeadAsync("output/merged.bin"));
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));

        // Its commit names an upload that is gone: the resume sets it aside, runs the final task again and publishes.
        var resumed = await new JobRunner(_direct, new JobRunnerOptions { Concurrency = 1 }).ResumeAsync(job, "stopped");

        Assert.Equal("succeeded", resumed.Summary.Status);
        Assert.True(resumed.Summary.TasksSetAside >= 1, resumed.Summary.ToJson());
        Assert.True(Enumerable.SequenceEqual(expected, await _direct.ReadAllBytesAsync("output/merged.bin")), "the output is not the inputs' concatenation");
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
    }

    private async Task<byte[]> PutInputsAsync(int count, int size)
    {
        var expected = new List<byte>();
        for (var i = 0; i < count; i++)
        {
            var bytes = new byte[size];
            new Random(200 + i).NextBytes(bytes);
            await _direct.PutAsync($"input/{i:D2}", bytes);
            expected.AddRange(bytes);
        }

        return [.. expected];
    }

    private static XxHash3 Hash(byte[] bytes)
    {
        var hash = new XxHash3();
        hash.Append(bytes);
        return hash;
    }

    /// <summary>Fails the first write of a commit record made after an output was staged.</summary>
    private sealed class FailFirstCommitAfterStagingStore(IObjectStore inner) : ForwardingObjectStore(inner)
    {
        private int _staged;
        private int _failed;

        public int StagedWrites => Volatile.Read(ref _staged);

        public int CommitsFailed => Volatile.Read(ref _failed);

        public override ValueTask<StagedWriteStream> OpenStagedWriteAsync(string key, string owner, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _staged);
            return base.OpenStagedWriteAsync(key, owner, cancellationToken);
        }

        public override ValueTask<ObjectWriteStream> OpenWriteAsync(string key, CancellationToken cancellationToken = default) =>
            key.Contains("/commits/", StringComparison.Ordinal) && Volatile.Read(ref _staged) > 0 && Interlocked.CompareExchange(ref _failed, 1, 0) == 0
                ? throw new ObjectStoreException(Location, key, "injected: the commit record cannot be written")
                : base.OpenWriteAsync(key, cancellationToken);
    }

    /// <summary>Fails every attempt to publish a staged output.</summary>
    private sealed class FailPublishingStore(IObjectStore inner) : ForwardingObjectStore(inner)
    {
        public override ValueTask<ObjectInfo> PublishStagedAsync(StagedObject staged, CancellationToken cancellationToken = default) =>
            throw new ObjectStoreException(Location, staged.Key, "injected: the driver stopped before publishing");
    }
}
