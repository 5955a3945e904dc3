namespace Dataflow.Worker.Tests.Executors;

public sealed class ProcessExecutorTests : IDisposable
{
    private const string RunId = "process-test";
    private const string Output = "output/merged.txt";

    // A stand-in for `dataflow worker --serve`: it greets the driver, then takes tasks from stdin. Task 0/0 commits (data
    // object, then its commit record, as a worker does) and then hangs until the driver kills it; any other task waits
    // until 0/0 has committed, then the worker dies (exit 1).
    private const string Script = """
        echo "dataflow-worker {\"protocol\":1,\"pid\":$$}"
        while read -r line; do
          case "$line" in
            *'"task":"0/0"'*)
              mkdir -p "$(dirname "$DATA_TARGET")" "$(dirname "$COMMIT_TARGET")"
              cp "$FAKE_DIR/data" "$DATA_TARGET"
              cp "$FAKE_DIR/commit.json" "$COMMIT_TARGET"
              touch "$FAKE_DIR/committed"
              exec sleep 60
              ;;
          esac
          while [ ! -e "$FAKE_DIR/committed" ]; do sleep 0.02; done
          echo "this task fails on purpose: $line" >&2
          exit 1
        done
        """;

    private readonly TempFolder _folder = new();
    private readonly TempFolder _fake = new();
    private readonly IObjectStore _store;
    private readonly RunLayout _layout = new(RunId);

    public ProcessExecutorTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose()
    {
        _folder.Dispose();
        _fake.Dispose();
    }

    private static Job MergeJob() => Job.Named("process-job").FromPrefix("input/").ReduceTree(2, new CopyConcatOperator()).WriteTo(Output);

    [Fact]
    public async Task RunAsync_WorkerCommitsAsTheRunFails_ItsCommittedOutputSurvivesForTheResume()
    {
        var expected = await Inputs.WriteAsync(_store, 4, size: 3);
        var task = new TaskId(0, 0);
        const string AttemptId = "a01-0000beef";
        var data = expected[..6];
        var dataKey = _layout.OutputKey(task, AttemptId, "out");
        var marker = new CommitMarker
        {
            Task = task,
            AttemptId = AttemptId,
            Attempt = 1,
            CommittedAt = DateTimeOffset.UtcNow,
            DurationMs = 1,
            Outputs = [new CommittedOutput { Name = "out", Size = data.Length, Key = dataKey }],
            Consumed = [],
        };
        await File.WriteAllBytesAsync(Path.Combine(_fake.Path, "data"), data);
        await File.WriteAllBytesAsync(Path.Combine(_fake.Path, "commit.json"), RunRecords.Serialize(new CommitRecord { RunId = RunId, Markers = [marker] }));
        var script = Path.Combine(_fake.Path, "worker.sh");
        await File.WriteAllTextAsync(script, Script);
        var options = new JobRunnerOptions
        {
            RunId = RunId,
            Concurrency = 2,
            MaxAttempts = 1,
            Arguments = [],
            Executor = Executor.WorkerProcesses(new ProcessExecutorOptions
            {
                Command = ["sh", script],
                Environment = new Dictionary<string, string>
                {
                    ["FAKE_DIR"] = _fake.Path,
                    ["DATA_TARGET"] = Path.Combine(_folder.Path, dataKey),
                    ["COMMIT_TARGET"] = Path.Combine(_folder.Path, _layout.TaskCommitKey(task, AttemptId)),
                },
            }),
        };

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => new JobRunner(_store, options).RunAsync(MergeJob()).WaitAsync(TimeSpan.FromSeconds(50)));

        Assert.Contains("fails on purpose", failure.Message, StringComparison.Ordinal);
        Assert.Equal(new TaskId(0, 1), Assert.IsType<TaskFailedException>(failure.InnerException).Task);

        // The failed run's report: its workers are the timeline's rows; 0/1 failed, 0/0 was stopped with the run.
        var report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(_layout.ReportKey));
        Assert.Equal("process", report.Executor);
        Assert.Equal(["worker 1", "worker 2"], report.Rows);
        var failed = Assert.Single(report.Attempts, a => a is { Stage: 0, Task: 1 });
        Assert.Equal(AttemptOutcomes.Failed, failed.Outcome);
        Assert.Contains("fails on purpose", failed.Error, StringComparison.Ordinal);
        Assert.Equal(AttemptOutcomes.Cancelled, Assert.Single(report.Attempts, a => a is { Stage: 0, Task: 0 }).Outcome);
        Assert.NotEqual(failed.Row, report.Attempts.Single(a => a is { Stage: 0, Task: 0 }).Row);
        Assert.Equal(1, report.Stages[0].Failed);

        // Task 0/0 committed, though its driver never heard of it: a resume replays its marker, so its output must stay.
        Assert.Equal(AttemptId, (await CommitIndex.FindAsync(_store, _layout, task, CancellationToken.None))?.AttemptId);
        Assert.True(await _store.ExistsAsync(dataKey), "the committed output of a task the driver did not see commit was swept");

        var result = await new JobRunner(_store, new JobRunnerOptions { RunId = RunId, Concurrency = 2, MaxAttempts = 1 }).ResumeAsync(MergeJob(), RunId);

        Assert.Equal(1, result.Summary.TasksSkipped);
        Assert.Equal(2, result.Summary.TasksRun);
        Assert.Equal(expected, await _store.ReadAllBytesAsync(Output));
        Assert.Equal(0, result.Summary.IntermediateObjectsLeft);
    }
}
