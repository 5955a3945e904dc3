using System.Globalization;

namespace Dataflow.Hosting.Tests.Ui;

/// <summary>
/// The records of a large run, written through the runtime's own record writers without running it: the plan of a
/// pairwise merge tree over <c>inputs</c> objects (about as many tasks) stored by <c>PlanStore</c>, every task's
/// commit marker in batch records of <c>markersPerRecord</c> (as the local driver's group commit writes them), and the
/// summary and report (<c>RunRecorder.FromCommits</c>) a driver writes at the end. Its input and data objects are not
/// written: a UI reads records only.
/// </summary>
internal static class SyntheticRun
{
    /// <summary>Writes the run; returns its task count.</summary>
    /// <param name="store">The store.</param>
    /// <param name="runId">The run's id.</param>
    /// <param name="inputs">Input objects: a run of 1,000,001 inputs has 1,000,013 tasks.</param>
    /// <param name="markersPerRecord">Commit markers per batch record.</param>
    /// <param name="workers">Workers the tasks are spread over (marker worker names; 0 for the driver's own process).</param>
    /// <param name="createdAt">When it was planned; default an hour ago.</param>
    public static async Task<int> WriteAsync(IObjectStore store, string runId, int inputs, int markersPerRecord = 2000, int workers = 8, DateTimeOffset? createdAt = null)
    {
        var job = Job.Named("synthetic-merge").FromPrefix("input/").ReduceTree(2, new ConcatOperator()).WriteTo("output/merged.txt");
        var plan = Dataflow.Planner.JobPlanner.CreatePlan(
            job,
            [.. Enumerable.Range(0, inputs).Select(i => new PlanInput("input/" + i.ToString("D7", CultureInfo.InvariantCulture) + ".txt", 100))],
            runId,
            createdAt ?? DateTimeOffset.UtcNow.AddHours(-1));
        await PlanStore.SaveAsync(store, plan);

        var layout = new RunLayout(runId);
        var markers = new List<CommitMarker>(plan.TaskCount);
        var attempts = new Dictionary<TaskId, string>();
        var clock = 0.0;
        for (var s = 0; s < plan.Stages.Count; s++)
        {
            var tasks = plan.Stages[s].Tasks;
            for (var i = 0; i < tasks.Count; i++)
            {
                var id = new TaskId(s, i);
                var attemptId = string.Create(CultureInfo.InvariantCulture, $"a01-{(uint)HashCode.Combine(s, i):x8}");
                attempts[id] = attemptId;
                var duration = 2 + ((i * 7) % 5);
                clock += 0.05;
                markers.Add(new CommitMarker
                {
                    Task = id,
                    AttemptId = attemptId,
                    Attempt = 1,
                    CommittedAt = plan.CreatedAt.AddMilliseconds(clock + duration),
                    DurationMs = duration,
                    Worker = workers == 0 ? null : string.Create(CultureInfo.InvariantCulture, $"worker-{i % workers}"),
                    Outputs = [new CommittedOutput { Name = "out", Size = 100L << s, Key = layout.OutputKey(id, attemptId, "out"), Checksum = "xxh3:0123456789abcdef" }],
                    BytesRead = 100L << s,
                    BytesWritten = 100L << s,
                    Consumed = [.. tasks[i].Inputs.Where(input => input.Task is not null).Select(input => new ConsumedArtifact(input.Task!.Value, input.Output!, attempts[input.Task.Value]))],
                });
            }
        }

        await Parallel.ForEachAsync(
            markers.Chunk(markersPerRecord).Select((chunk, n) => (chunk, n)),
            new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (batch, token) => await store.PutAsync(
                layout.BatchCommitKey(string.Create(CultureInfo.InvariantCulture, $"{batch.n:D6}")),
                RunRecords.Serialize(new CommitRecord { RunId = runId, Markers = batch.chunk }),
                token));

        var wall = (long)clock + 20;
        var summary = new RunSummary
        {
            RunId = runId,
            Job = job.Name,
            Stages = plan.Stages.Count,
            Tasks = plan.TaskCount,
            TasksRun = plan.TaskCount,
            TasksSkipped = 0,
            Attempts = plan.TaskCount,
            Retries = 0,
            Failed = 0,
            WallMs = wall,
            BytesRead = markers.Sum(m => m.BytesRead ?? 0),
            BytesWritten = markers.Sum(m => m.BytesWritten ?? 0),
            Output = store.Location + "/output/merged.txt",
            IntermediateObjectsLeft = 0,
            Status = "succeeded",
        };
        var index = await PlanStore.LoadIndexAsync(store, runId) ?? throw new InvalidOperationException("the plan was not stored");
        await store.PutAsync(layout.ReportKey, RunRecords.Serialize(RunRecorder.FromCommits(index, markers, summary, "process")));
        await store.PutAsync(layout.SummaryKey, RunRecords.Serialize(summary));
        return plan.TaskCount;
    }
}
