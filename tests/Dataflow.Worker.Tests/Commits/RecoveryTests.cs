using System.Text;

namespace Dataflow.Worker.Tests.Commits;

/// <summary>
/// A committed intermediate that is damaged after its commit — a byte flipped, truncated, deleted — is never read as
/// if it were good: the commits that hold its bytes are set aside, their tasks run again, and the run ends with the
/// right output. One case per kind of committed output: written (checksummed), composed (copied by the store),
/// referenced (a reference into another task's object), and a map task's partitioned output (read by reducers).
/// </summary>
public sealed class RecoveryTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public enum Damage
    {
        Flip,
        Truncate,
        Delete,
    }

    public enum Kind
    {
        Written,
        Composed,
        Referenced,
    }

    public static TheoryData<Kind, Damage> Cases()
    {
        var cases = new TheoryData<Kind, Damage>();
        foreach (var kind in Enum.GetValues<Kind>())
        {
            foreach (var damage in Enum.GetValues<Damage>())
            {
                cases.Add(kind, damage);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Run_IntermediateDamagedBeforeItsFirstRead_SetsItsCommitAsideAndEndsRight(Kind kind, Damage damage)
    {
        await using var folder = ObjectStore.OpenFolder(_folder.Path);
        var expected = await Inputs.WriteAsync(folder, 8, size: 100);
        var damaged = 0;
        await using var store = new HookedStore(folder, key => DamageOnceAsync(key, "/data/s0000/", damage, ref damaged));
        var job = Job.Named("recover").FromPrefix("input/").ReduceTree(2, Operator(kind)).WriteTo("output/merged.txt");

        var result = await new JobRunner(store, new JobRunnerOptions { Concurrency = 2, MaxAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(job);

        Assert.True(damaged >= 1, "nothing was damaged");
        Assert.Equal(Inputs.Text(expected), Encoding.ASCII.GetString(await folder.ReadAllBytesAsync("output/merged.txt")));
        Assert.Equal("succeeded", result.Summary.Status);
        Assert.True(result.Summary.TasksSetAside >= 1, $"no commit was set aside: {result.Summary.ToJson()}");
        Assert.Equal(0, result.Summary.Failed);
        var report = RunRecords.DeserializeReport(await folder.ReadAllBytesAsync(new RunLayout(result.Summary.RunId).ReportKey));
        Assert.Equal(result.Summary.TasksSetAside, report.Stages.Sum(s => s.SetAside));
        Assert.Contains(report.Attempts, a => a.Outcome == AttemptOutcomes.Failed && a.Error!.Contains("/data/s0000/", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Attempts, a => a.Outcome == AttemptOutcomes.Failed && !a.Error!.Contains("/data/s0000/", StringComparison.Ordinal));
        var records = await folder.ListAllAsync(new RunLayout(result.Summary.RunId).CommitsPrefix);
        Assert.Contains(records, r => r.Key.Contains(".aside-", StringComparison.Ordinal));

        // Each failed attempt was stored as a failure record as it failed; the one that found its input lost says which.
        var failures = await RunFailures.ReadAsync(folder, result.Summary.RunId, 100, CancellationToken.None);
        Assert.Equal(report.Attempts.Count(a => a.Outcome == AttemptOutcomes.Failed), failures.Total);
        Assert.Contains(failures.Failures, f => f.LostInput && f.LostObject!.Contains("/data/s0000/", StringComparison.Ordinal) && !f.Permanent);
    }

    [Theory]
    [InlineData(Damage.Flip)]
    [InlineData(Damage.Truncate)]
    [InlineData(Damage.Delete)]
    public async Task Run_MapOutputDamagedBeforeItsFirstRead_SetsItsCommitAsideAndEndsWithTheSameParts(Damage damage)
    {
        // The same word count twice: in a clean store, and in one where a map task's partitioned output is damaged
        // just before a reducer first reads it.
        using var cleanFolder = new TempFolder();
        await using var clean = ObjectStore.OpenFolder(cleanFolder.Path);
        await using var folder = ObjectStore.OpenFolder(_folder.Path);
        for (var i = 0; i < 4; i++)
        {
            var text = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(0, 400).Select(n => $"w{(n * 7 + i) % 50} w{n % 13} w{i}")));
            await clean.PutAsync($"input/{i}.txt", text);
            await folder.PutAsync($"input/{i}.txt", text);
        }

        var damaged = 0;
        await using var store = new HookedStore(folder, key => DamageOnceAsync(key, "/data/s0000/", damage, ref damaged));
        var options = new JobRunnerOptions { Concurrency = 2, MaxAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1) };

        await new JobRunner(clean, options).RunAsync(WordCount());
        var result = await new JobRunner(store, options).RunAsync(WordCount());

        Assert.True(damaged >= 1, "nothing was damaged");
        Assert.Equal("succeeded", result.Summary.Status);
        Assert.True(result.Summary.TasksSetAside >= 1, $"no commit was set aside: {result.Summary.ToJson()}");
        var expected = await clean.ListAllAsync("output/");
        Assert.Equal(expected.Select(i => i.Key), (await folder.ListAllAsync("output/")).Select(i => i.Key));
        Assert.NotEmpty(expected);
        foreach (var part in expected)
        {
            Assert.Equal(await clean.ReadAllBytesAsync(part.Key), await folder.ReadAllBytesAsync(part.Key));
        }
    }

    [Fact]
    public async Task Resume_AfterACommittedIntermediateWasDamaged_DoesNotTakeTheSetAsideCommitAgain()
    {
        await using var folder = ObjectStore.OpenFolder(_folder.Path);
        var expected = await Inputs.WriteAsync(folder, 4, size: 50);
        var damaged = 0;
        var failFinal = true;
        await using var store = new HookedStore(folder, key => DamageOnceAsync(key, "/data/s0000/", Damage.Flip, ref damaged));
        var op = new ScriptedOperator(new CopyConcatOperator(), (id, _, _, _) =>
            failFinal && id.Stage == 1 && damaged == 1 ? throw new IOException("the final task fails once, after the repair") : ValueTask.CompletedTask);
        var job = Job.Named("recover-resume").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");
        var options = new JobRunnerOptions { Concurrency = 1, MaxAttempts = 1 };
        var failed = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(store, options).RunAsync(job));
        failFinal = false;

        var resumed = await new JobRunner(folder, options).ResumeAsync(job, failed.Summary.RunId);

        Assert.Equal(Inputs.Text(expected), Encoding.ASCII.GetString(await folder.ReadAllBytesAsync("output/merged.txt")));
        Assert.Equal("succeeded", resumed.Summary.Status);
        var committed = await CommitIndex.LoadAllAsync(folder, new RunLayout(failed.Summary.RunId), CancellationToken.None);
        Assert.All(committed.Values, m => Assert.DoesNotContain(m.Outputs, o => o.Key is { } key && !key.StartsWith("_dataflow/", StringComparison.Ordinal)));
    }

    private static IObjectOperator Operator(Kind kind) => kind switch
    {
        Kind.Written => new CopyConcatOperator(),
        Kind.Composed => new ConcatOperator(new ConcatenationOptions { MinReferenceSegmentBytes = long.MaxValue }),
        _ => new WriteThenReference(),
    };

    /// <summary>Damages the object of <paramref name="key"/> the first time a key containing <paramref name="part"/> is read.</summary>
    private ValueTask DamageOnceAsync(string key, string part, Damage damage, ref int damaged)
    {
        if (!key.Contains(part, StringComparison.Ordinal) || Interlocked.Increment(ref damaged) != 1)
        {
            return ValueTask.CompletedTask;
        }

        var path = Path.Combine(_folder.Path, key);
        var modified = File.GetLastWriteTimeUtc(path);
        switch (damage)
        {
            case Damage.Flip:
                var bytes = File.ReadAllBytes(path);
                bytes[bytes.Length / 2] ^= 0x20;
                File.WriteAllBytes(path, bytes);
                break;
            case Damage.Truncate:
                using (var file = File.OpenWrite(path))
                {
                    file.SetLength(file.Length - 1);
                }

                break;
            default:
                File.Delete(path);
                return ValueTask.CompletedTask;
        }

        // As a byte flipped on disk would: the file's time moves on (a filesystem may round it to the same value).
        File.SetLastWriteTimeUtc(path, modified.AddSeconds(1));
        return ValueTask.CompletedTask;
    }

    /// <summary>Counts words: 4 splits of one object each, 2 reducers.</summary>
    private static Job WordCount() =>
        Job.Named("recover-map").FromPrefix("input/").MapReduce(new MapReduceSpec<string, long, long>
        {
            Mapper = new WordMapper(),
            Reducer = new SumReducer(),
            Reducers = 2,
            MaxObjectsPerSplit = 1,
        }).WriteTo("output/counts/");

    private sealed class WordMapper : Mapper<string, long>
    {
        public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output)
        {
            foreach (var range in record.Split(' '))
            {
                output.EmitText(record[range], 1);
            }
        }
    }

    private sealed class SumReducer : Reducer<string, long, long>
    {
        public override long Reduce(string key, IReadOnlyList<long> values) => values.Sum();
    }

    /// <summary>Writes the first level's outputs itself; later levels are references into them.</summary>
    private sealed class WriteThenReference : IObjectOperator
    {
        private readonly CopyConcatOperator _write = new();
        private readonly ConcatOperator _reference = new(new ConcatenationOptions { MinReferenceSegmentBytes = 1 });

        public string Name => "write-then-reference";

        public ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken) =>
            context.TaskId.Stage == 0 ? _write.ExecuteAsync(context, cancellationToken) : _reference.ExecuteAsync(context, cancellationToken);
    }
}
