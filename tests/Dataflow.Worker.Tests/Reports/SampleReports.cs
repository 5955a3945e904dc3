namespace Dataflow.Worker.Tests.Reports;

/// <summary>Run reports built by hand for the HTML report's tests.</summary>
internal static class SampleReports
{
    public const string InjectedError = "boom </script><b>x</b> <!-- still text";

    public const string JobName = "words &<> \"quoted\" job";

    /// <summary>
    /// A failed run: 3 stages, 2 rows, 7 attempts, one of them failed and retried, one cancelled; a job name and
    /// errors that would break a page that did not escape them.
    /// </summary>
    public static RunReport Small()
    {
        AttemptReport Attempt(int stage, int task, int attempt, int row, double start, double end, string outcome, string? error = null) => new()
        {
            Stage = stage, Task = task, Attempt = attempt, Row = row, StartMs = start, EndMs = end, Outcome = outcome,
            BytesRead = 3 << 20, BytesWritten = 1 << 20, Error = error,
        };

        return new RunReport
        {
            Summary = new RunSummary
            {
                RunId = "20261129-112233-abcd",
                Job = JobName,
                Stages = 3,
                Tasks = 7,
                TasksRun = 5,
                TasksSkipped = 1,
                Attempts = 7,
                Retries = 1,
                Failed = 0,
                WallMs = 1_640,
                BytesRead = 21 << 20,
                BytesWritten = 7 << 20,
                Output = null,
                IntermediateObjectsLeft = 0,
                Status = "cancelled",
                Error = "cancelled by the user while stage 'reduce <all>' ran; " + InjectedError,
            },
            StartedAt = new DateTimeOffset(2026, 11, 29, 11, 22, 33, TimeSpan.Zero),
            Executor = "local",
            Rows = ["slot 1", "slot 2"],
            Stages =
            [
                new StageReport
                {
                    Index = 0, Name = "map <words>", Tasks = 3, Committed = 3, Skipped = 0, Failed = 0, Attempts = 4, Retries = 1,
                    BytesRead = 12 << 20, BytesWritten = 4 << 20, StartMs = 60, EndMs = 860, MedianTaskMs = 380, MaxTaskMs = 390,
                },
                new StageReport
                {
                    Index = 1, Name = "count", Tasks = 2, Committed = 2, Skipped = 0, Failed = 0, Attempts = 2, Retries = 0,
                    BytesRead = 6 << 20, BytesWritten = 2 << 20, StartMs = 880, EndMs = 1_360, MedianTaskMs = 455, MaxTaskMs = 480,
                },
                new StageReport
                {
                    Index = 2, Name = "reduce <all>", Tasks = 2, Committed = 0, Skipped = 1, Failed = 0, Attempts = 1, Retries = 0,
                    BytesRead = 3 << 20, BytesWritten = 1 << 20, StartMs = 1_380, EndMs = 1_560,
                },
            ],
            Attempts =
            [
                Attempt(0, 0, 1, 0, 60, 460, AttemptOutcomes.Committed),
                Attempt(0, 1, 1, 1, 60, 360, AttemptOutcomes.Failed, "task (0, 1) attempt 1: " + InjectedError),
                Attempt(0, 1, 2, 1, 380, 760, AttemptOutcomes.Committed),
                Attempt(0, 2, 1, 0, 470, 860, AttemptOutcomes.Committed),
                Attempt(1, 0, 1, 0, 880, 1_360, AttemptOutcomes.Committed),
                Attempt(1, 1, 1, 1, 880, 1_310, AttemptOutcomes.Committed),
                Attempt(2, 0, 1, 0, 1_380, 1_560, AttemptOutcomes.Cancelled),
            ],
            Phases =
            [
                new PhaseReport("listing", 0, 20),
                new PhaseReport("planning", 20, 55),
                new PhaseReport("running", 55, 1_560),
                new PhaseReport("cleaning up", 1_560, 1_640),
            ],
        };
    }

    /// <summary>
    /// A succeeded run with the task cache on after one input changed: 3 stages of 4, 2 and 1 tasks; 4 tasks taken
    /// from the cache (3 of stage 0, 1 of stage 1), drawn on the row "cache"; the 3 tasks on the changed input's path run.
    /// </summary>
    public static RunReport Cached()
    {
        AttemptReport Ran(int stage, int task, double start, double end) => new()
        {
            Stage = stage, Task = task, Attempt = 1, Row = 0, StartMs = start, EndMs = end, Outcome = AttemptOutcomes.Committed,
            BytesRead = 2 << 10, BytesWritten = 2 << 10,
        };

        AttemptReport Cached(int stage, int task) => new()
        {
            Stage = stage, Task = task, Attempt = 0, Row = 1, StartMs = 40, EndMs = 40, Outcome = AttemptOutcomes.Cached,
        };

        return new RunReport
        {
            Summary = new RunSummary
            {
                RunId = "20261203-101010-cafe", Job = "merge", Stages = 3, Tasks = 7, TasksRun = 3, TasksSkipped = 0, TasksCached = 4,
                Cache = new RunCacheSummary { Mode = "on", TasksCached = [3, 1, 0], TasksWithKey = 7, Lookups = 7, EntriesInvalid = 0, EntriesWritten = 3 },
                Attempts = 3, Retries = 0, Failed = 0, WallMs = 300, BytesRead = 6 << 10, BytesWritten = 6 << 10,
                Output = "output/merged.txt", IntermediateObjectsLeft = 0,
                Status = "succeeded",
            },
            StartedAt = new DateTimeOffset(2026, 12, 3, 10, 10, 10, TimeSpan.Zero),
            Executor = "local",
            Rows = ["slot 1", "cache"],
            Stages =
            [
                new StageReport { Index = 0, Name = "level-1", Tasks = 4, Committed = 4, Skipped = 0, Cached = 3, Failed = 0, Attempts = 1, Retries = 0, BytesRead = 2 << 10, BytesWritten = 2 << 10 },
                new StageReport { Index = 1, Name = "level-2", Tasks = 2, Committed = 2, Skipped = 0, Cached = 1, Failed = 0, Attempts = 1, Retries = 0, BytesRead = 2 << 10, BytesWritten = 2 << 10 },
                new StageReport { Index = 2, Name = "level-3", Tasks = 1, Committed = 1, Skipped = 0, Cached = 0, Failed = 0, Attempts = 1, Retries = 0, BytesRead = 2 << 10, BytesWritten = 2 << 10 },
            ],
            Attempts =
            [
                Cached(0, 0), Cached(0, 1), Cached(0, 2), Cached(1, 0),
                Ran(0, 3, 50, 120), Ran(1, 1, 130, 200), Ran(2, 0, 210, 280),
            ],
            Phases = [new PhaseReport("checking the cache", 0, 40), new PhaseReport("running", 40, 290)],
        };
    }

    /// <summary>A succeeded run of <paramref name="attempts"/> short attempts over <paramref name="rows"/> rows and 3 stages; every 1,000th attempt fails and is retried.</summary>
    public static RunReport Large(int attempts, int rows)
    {
        var list = new List<AttemptReport>(attempts);
        var rowClock = new double[rows];
        var failed = 0;
        for (var i = 0; i < attempts; i++)
        {
            var row = i % rows;
            var stage = i * 3 / attempts;
            var retry = i % 1_000 == 1;
            var duration = 5 + (i % 7);
            list.Add(new AttemptReport
            {
                Stage = stage, Task = i, Attempt = 1, Row = row, StartMs = rowClock[row], EndMs = rowClock[row] + duration,
                Outcome = retry ? AttemptOutcomes.Failed : AttemptOutcomes.Committed, Error = retry ? "transient" : null,
            });
            failed += retry ? 1 : 0;
            rowClock[row] += duration + 1;
        }

        var wall = (long)rowClock.Max() + 10;
        return new RunReport
        {
            Summary = new RunSummary
            {
                RunId = "large", Job = "large", Stages = 3, Tasks = attempts - failed, TasksRun = attempts - failed, TasksSkipped = 0,
                Attempts = attempts, Retries = failed, Failed = 0, WallMs = wall, BytesRead = 0, BytesWritten = 0,
                IntermediateObjectsLeft = 0, Status = "succeeded",
            },
            StartedAt = DateTimeOffset.UnixEpoch,
            Executor = "kubernetes",
            Rows = [.. Enumerable.Range(0, rows).Select(r => $"dataflow-large-worker-{r}")],
            Stages =
            [
                .. Enumerable.Range(0, 3).Select(s => new StageReport
                {
                    Index = s, Name = $"stage {s}", Tasks = attempts / 3, Committed = attempts / 3, Skipped = 0, Failed = 0,
                    Attempts = attempts / 3, Retries = 0, BytesRead = 0, BytesWritten = 0,
                }),
            ],
            Attempts = list,
            Phases = [new PhaseReport("running", 0, wall)],
        };
    }
}
