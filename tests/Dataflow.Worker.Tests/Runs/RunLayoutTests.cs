using System.Text.RegularExpressions;

namespace Dataflow.Worker.Tests.Runs;

public sealed partial class RunLayoutTests
{
    [Fact]
    public void Constructor_ValidRunId_LaysOutKeysUnderTheRunsRoot()
    {
        var layout = new RunLayout("run-1");

        Assert.Equal("run-1", layout.RunId);
        Assert.Equal("_dataflow/runs/run-1/", layout.Root);
        Assert.Equal("_dataflow/runs/run-1/data/", layout.DataPrefix);
        Assert.Equal("_dataflow/runs/run-1/commits/", layout.CommitsPrefix);
        Assert.Equal("_dataflow/runs/run-1/plan.json", layout.PlanKey);
        Assert.Equal("_dataflow/runs/run-1/summary.json", layout.SummaryKey);
        Assert.Equal("_dataflow/runs/run-1/data/s0002/t000017.a01-9c0f33d2.out", layout.OutputKey(new TaskId(2, 17), "a01-9c0f33d2", "out"));
        Assert.Equal("_dataflow/runs/run-1/commits/s0002/t000017.a01-9c0f33d2.json", layout.TaskCommitKey(new TaskId(2, 17), "a01-9c0f33d2"));
        Assert.Equal("_dataflow/runs/run-1/commits/batch-b7.json", layout.BatchCommitKey("b7"));
    }

    public static TheoryData<string> RunIds => new() { "run-1", "a", "20261129-024455-3fa2c1", "A_b-C", new string('r', 64) };

    [Theory]
    [MemberData(nameof(RunIds))]
    public void Keys_AnyValidRunId_AreValidReservedKeysUnderTheRunRoot(string runId)
    {
        var layout = new RunLayout(runId);
        var root = $"_dataflow/runs/{runId}/";
        string[] keys =
        [
            layout.PlanKey,
            layout.SummaryKey,
            layout.OutputKey(new TaskId(0, 0), RunLayout.NewAttemptId(1), "out"),
            layout.OutputKey(new TaskId(9999, 999999), RunLayout.NewAttemptId(99), "out"),
            layout.OutputKey(new TaskId(int.MaxValue, int.MaxValue), "a01-00000000", "some.output_name"),
            layout.TaskCommitKey(new TaskId(3, 4), RunLayout.NewAttemptId(2)),
            layout.BatchCommitKey("0123abcd"),
        ];
        string[] prefixes = [layout.Root, layout.DataPrefix, layout.CommitsPrefix];

        Assert.Equal(root, layout.Root);
        foreach (var key in keys)
        {
            Assert.True(ObjectKey.IsValid(key), $"'{key}' is not a valid object key");
            Assert.StartsWith(root, key, StringComparison.Ordinal);
            Assert.True(ObjectKey.IsReserved(key), $"'{key}' is not reserved");
        }

        foreach (var prefix in prefixes)
        {
            ObjectKey.ValidatePrefix(prefix);
            Assert.StartsWith(root, prefix, StringComparison.Ordinal);
            Assert.EndsWith("/", prefix, StringComparison.Ordinal);
        }

        Assert.Equal(keys.Length, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void OutputKey_DifferentTasksAttemptsAndOutputs_AreDistinct()
    {
        var layout = new RunLayout("r");
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in new[] { new TaskId(0, 1), new TaskId(1, 0), new TaskId(0, 10), new TaskId(10, 0), new TaskId(1, 1) })
        {
            foreach (var attempt in new[] { "a01-00000000", "a02-00000000" })
            {
                foreach (var output in new[] { "out", "side" })
                {
                    Assert.True(keys.Add(layout.OutputKey(task, attempt, output)), $"duplicate key for {task} {attempt} {output}");
                }

                Assert.True(keys.Add(layout.TaskCommitKey(task, attempt)), $"duplicate commit key for {task} {attempt}");
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a.b")]
    [InlineData("a b")]
    [InlineData("run\0")]
    [InlineData("rün")]
    [InlineData("_dataflow/")]
    [InlineData("x12345678901234567890123456789012345678901234567890123456789012345")] // 65 characters
    public void Constructor_InvalidRunId_ThrowsArgumentException(string runId)
    {
        var ex = Assert.Throws<ArgumentException>(() => new RunLayout(runId));

        Assert.Equal("runId", ex.ParamName);
        Assert.Contains("is not a valid run id", ex.Message, StringComparison.Ordinal);
        Assert.False(RunLayout.IsValidRunId(runId));
    }

    [Fact]
    public void Constructor_NullRunId_ThrowsArgumentException()
    {
        Assert.ThrowsAny<ArgumentException>(() => new RunLayout(null!));
        Assert.False(RunLayout.IsValidRunId(null));
    }

    [Theory]
    [InlineData("_dataflow/", true)]
    [InlineData("_dataflow/runs/x/plan.json", true)]
    [InlineData("_dataflow", false)]
    [InlineData("_dataflowx/a", false)]
    [InlineData("_Dataflow/a", false)]
    [InlineData("a/_dataflow/b", false)]
    [InlineData("", false)]
    public void IsReserved_Key_TrueOnlyUnderTheReservedPrefix(string key, bool reserved)
    {
        Assert.Equal(reserved, ObjectKey.IsReserved(key));
    }

    [Fact]
    public void NewRunId_FixedClock_IsValidAndStartsWithTheUtcTime()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 11, 29, 4, 44, 55, TimeSpan.FromHours(2)));

        var id = RunLayout.NewRunId(clock);

        Assert.Matches(RunIdPattern(), id);
        Assert.StartsWith("20261129-024455-", id, StringComparison.Ordinal);
        Assert.True(RunLayout.IsValidRunId(id));
        _ = new RunLayout(id);
    }

    [Fact]
    public void NewRunId_SameSecond_GivesDistinctValidIds()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

        var ids = Enumerable.Range(0, 20).Select(_ => RunLayout.NewRunId(clock)).ToArray();

        Assert.All(ids, id => Assert.Matches(RunIdPattern(), id));
        Assert.All(ids, id => Assert.True(RunLayout.IsValidRunId(id)));
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void NewRunId_SystemClock_IsValid()
    {
        var id = RunLayout.NewRunId();

        Assert.Matches(RunIdPattern(), id);
        Assert.True(RunLayout.IsValidRunId(id));
    }

    [Theory]
    [InlineData(1, "a01-")]
    [InlineData(12, "a12-")]
    [InlineData(123, "a123-")]
    public void NewAttemptId_Attempt_HasNumberAndEightHexDigits(int attempt, string start)
    {
        var ids = Enumerable.Range(0, 20).Select(_ => RunLayout.NewAttemptId(attempt)).ToArray();

        Assert.All(ids, id => Assert.StartsWith(start, id, StringComparison.Ordinal));
        Assert.All(ids, id => Assert.Matches("^a[0-9]{2,}-[0-9a-f]{8}$", id));
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [GeneratedRegex("^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")]
    private static partial Regex RunIdPattern();

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now.ToUniversalTime();
    }
}
