namespace Dataflow.Worker.Tests.Executors;

/// <summary>
/// Both attempts of a task commit in worker processes: the backup reports first and wins the race, but the first
/// attempt had committed too, with the smaller attempt id. The driver kills the first attempt's worker, reads the task's
/// commit as every reader does (the smallest id: the first attempt's), records the backup as superseded and deletes the
/// backup's own objects.
/// </summary>
public sealed class ProcessSpeculationRaceTests : IDisposable
{
    private const string RunId = "race-test";
    private const string Output = "output/merged.txt";

    // A stand-in for `dataflow worker --serve`: attempt 1 commits (data object, then its commit record, as a worker
    // does) and then hangs without reporting; attempt 2 commits its own and reports it.
    private const string Script = """
        echo "dataflow-worker {\"protocol\":1,\"pid\":$$}"
        while read -r line; do
          case "$line" in
            *'"attempt":1'*)
              mkdir -p "$(dirname "$DATA1")" "$(dirname "$COMMIT1")"
              cp "$FAKE_DIR/data" "$DATA1"
              cp "$FAKE_DIR/commit1.json" "$COMMIT1"
              exec sleep 60
              ;;
            *)
              mkdir -p "$(dirname "$DATA2")" "$(dirname "$COMMIT2")"
              cp "$FAKE_DIR/data" "$DATA2"
              cp "$FAKE_DIR/commit2.json" "$COMMIT2"
              cat "$FAKE_DIR/report2"
              ;;
          esac
        done
        """;

    private readonly TempFolder _folder = new();
    private readonly TempFolder _fake = new();
    private readonly IObjectStore _store;
    private readonly RunLayout _layout = new(RunId);

    public ProcessSpeculationRaceTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose()
    {
        _folder.Dispose();
        _fake.Dispose();
    }

    [Fact]
    public async Task BothCommit_TheBackupReportsFirst_ReadersTakeTheSmallerIdAndTheBackupsObjectsAreDeleted()
    {
        var expected = await Inputs.WriteAsync(_store, 2, size: 3);
        var task = new TaskId(0, 0);
        (string Id, string Data, string Commit) first = Attempt(task, "a01-00000001");
        (string Id, string Data, string Commit) backup = Attempt(task, "a02-00000002");
        await File.WriteAllBytesAsync(Path.Combine(_fake.Path, "data"), expected);
        await File.WriteAllBytesAsync(Path.Combine(_fake.Path, "commit1.json"), Record(task, first.Id, 1, first.Data, expected.Length));
        await File.WriteAllBytesAsync(Path.Combine(_fake.Path, "commit2.json"), Record(task, backup.Id, 2, backup.Data, expected.Length));
        await File.WriteAllTextAsync(Path.Combine(_fake.Path, "report2"), WorkerProtocol.FormatReport(new WorkerReport(task, WorkerProtocol.Committed, backup.Id, 0, expected.Length)) + "\n");
        var script = Path.Combine(_fake.Path, "worker.sh");
        await File.WriteAllTextAsync(script, Script);
        var options = new JobRunnerOptions
        {
            RunId = RunId,
            Concurrency = 2,
            MaxAttempts = 1,
            Arguments = [],
            Speculation = Tasks.SpeculationTests.Forced,
            Executor = Executor.WorkerProcesses(new ProcessExecutorOptions
            {
                Command = ["sh", script],
                Environment = new Dictionary<string, string>
                {
                    ["FAKE_DIR"] = _fake.Path,
                    ["DATA1"] = Path.Combine(_folder.Path, first.Data),
                    ["COMMIT1"] = Path.Combine(_folder.Path, first.Commit),
                    ["DATA2"] = Path.Combine(_folder.Path, backup.Data),
                    ["COMMIT2"] = Path.Combine(_folder.Path, backup.Commit),
                },
            }),
        };
        var job = Job.Named("race-job").FromPrefix("input/").ReduceTree(2, new CopyConcatOperator()).WriteTo(Output);

        var summary = (await new JobRunner(_store, options).RunAsync(job).WaitAsync(TimeSpan.FromSeconds(50))).Summary;

        Assert.Equal("succeeded", summary.Status);
        Assert.Equal(expected, await _store.ReadAllBytesAsync(Output));
        Assert.Equal((1, 0), (summary.SpeculativeAttempts, summary.SpeculativeWins));
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(_layout.ReportKey));
        var attempts = report.Attempts.OrderBy(a => a.Attempt).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Equal((AttemptOutcomes.Committed, (bool?)null), (attempts[0].Outcome, attempts[0].Speculative));
        Assert.Equal((AttemptOutcomes.Cancelled, "superseded by attempt 1", (bool?)true), (attempts[1].Outcome, attempts[1].Error, attempts[1].Speculative));

        // Every reader takes the first attempt's commit; the backup's own object is gone, its record stays unread.
        Assert.Equal(first.Id, (await CommitIndex.FindAsync(_store, _layout, task, CancellationToken.None))?.AttemptId);
        Assert.False(await _store.ExistsAsync(backup.Data), "the losing commit's own object was not deleted");
        Assert.Equal(0, summary.IntermediateObjectsLeft);
    }

    private (string Id, string Data, string Commit) Attempt(TaskId task, string attemptId) =>
        (attemptId, _layout.OutputKey(task, attemptId, "out"), _layout.TaskCommitKey(task, attemptId));

    private static byte[] Record(TaskId task, string attemptId, int attempt, string dataKey, int size) =>
        RunRecords.Serialize(new CommitRecord
        {
            RunId = RunId,
            Markers =
            [
                new CommitMarker
                {
                    Task = task,
                    AttemptId = attemptId,
                    Attempt = attempt,
                    CommittedAt = DateTimeOffset.UtcNow,
                    DurationMs = 1,
                    Outputs = [new CommittedOutput { Name = "out", Size = size, Key = dataKey }],
                    Consumed = [],
                },
            ],
        });
}
