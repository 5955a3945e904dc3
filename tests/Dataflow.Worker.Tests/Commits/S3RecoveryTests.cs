namespace Dataflow.Worker.Tests.Commits;

/// <summary>
/// <see cref="RecoveryTests"/> on the S3 test server: a committed intermediate rewritten or deleted in the bucket after
/// its commit is caught — by its entity tag on a server-side copy (<c>x-amz-copy-source-if-match</c>), by If-Match and
/// its checksum on a read — its commit set aside and its task run again, and the output is right.
/// </summary>
public sealed class S3RecoveryTests : IAsyncLifetime
{
    private const int MiB = 1 << 20;

    private readonly string _bucket = S3TestServer.NewBucket("recovery");
    private IObjectStore _direct = null!;

    public async Task InitializeAsync() => _direct = await S3TestServer.OpenAsync(_bucket);

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_direct);
        await _direct.DisposeAsync();
    }

    public static TheoryData<RecoveryTests.Kind, RecoveryTests.Damage> Cases() => new()
    {
        { RecoveryTests.Kind.Composed, RecoveryTests.Damage.Flip },
        { RecoveryTests.Kind.Composed, RecoveryTests.Damage.Truncate },
        { RecoveryTests.Kind.Composed, RecoveryTests.Damage.Delete },
        { RecoveryTests.Kind.Written, RecoveryTests.Damage.Flip },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Run_IntermediateDamagedInTheBucketBeforeItsFirstRead_SetsItsCommitAsideAndEndsRight(RecoveryTests.Kind kind, RecoveryTests.Damage damage)
    {
        // Four inputs of 6 MiB: each first-level output (12 MiB) is composed by server-side part copies, and so is the
        // final output from those two.
        var expected = new List<byte>();
        for (var i = 0; i < 4; i++)
        {
            var bytes = new byte[6 * MiB];
            new Random(100 + i).NextBytes(bytes);
            await _direct.PutAsync($"input/{i:D2}", bytes);
            expected.AddRange(bytes);
        }

        var damaged = 0;
        await using var store = new HookedStore(_direct, key => DamageOnceAsync(key, damage, ref damaged));
        IObjectOperator op = kind == RecoveryTests.Kind.Composed
            ? new ConcatOperator(new ConcatenationOptions { MinReferenceSegmentBytes = long.MaxValue })
            : new CopyConcatOperator();
        var job = Job.Named("s3-recover").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.bin");

        var result = await new JobRunner(store, new JobRunnerOptions { Concurrency = 2, MaxAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(job);

        Assert.True(damaged >= 1, "nothing was damaged");
        var output = await _direct.ReadAllBytesAsync("output/merged.bin");
        Assert.True(expected.SequenceEqual(output), "the output is not the inputs' concatenation");
        Assert.Equal("succeeded", result.Summary.Status);
        Assert.True(result.Summary.TasksSetAside >= 1, $"no commit was set aside: {result.Summary.ToJson()}");
        var report = RunRecords.DeserializeReport(await _direct.ReadAllBytesAsync(new RunLayout(result.Summary.RunId).ReportKey));
        Assert.Contains(report.Attempts, a => a.Outcome == AttemptOutcomes.Failed && a.Error!.Contains("/data/s0000/", StringComparison.Ordinal));
        Assert.Empty(await _direct.ListAllAsync(new RunLayout(result.Summary.RunId).DataPrefix));
        Assert.Empty(await S3TestServer.IncompleteUploadsAsync(_direct));
    }

    /// <summary>Damages a first-level output in the bucket, the first time one is read (or copied from).</summary>
    private ValueTask DamageOnceAsync(string key, RecoveryTests.Damage damage, ref int damaged) =>
        key.Contains("/data/s0000/", StringComparison.Ordinal) && Interlocked.Increment(ref damaged) == 1
            ? DamageAsync(key, damage)
            : ValueTask.CompletedTask;

    private async ValueTask DamageAsync(string key, RecoveryTests.Damage damage)
    {
        if (damage == RecoveryTests.Damage.Delete)
        {
            Assert.Equal(1, await _direct.DeleteAsync([key]));
            return;
        }

        var bytes = await _direct.ReadAllBytesAsync(key);
        if (damage == RecoveryTests.Damage.Flip)
        {
            bytes[bytes.Length / 2] ^= 0x20;
            await _direct.PutAsync(key, bytes);
        }
        else
        {
            await _direct.PutAsync(key, bytes.AsMemory(0, bytes.Length - 1));
        }
    }
}
