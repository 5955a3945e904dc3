using System.Globalization;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// Records what one run does, attempt by attempt, for its <see cref="RunReport"/>: the driver's executors report each
/// attempt (its timeline row, start, end, outcome and bytes) and the run's phases; <see cref="Build"/> adds the
/// per-stage totals. Safe to call from many tasks at once.
/// </summary>
/// <remarks>
/// Beyond <see cref="MaxAttempts"/> attempts only the stage totals grow, so that a run of millions of tasks does not
/// keep (or store) a record per attempt; the report says how many it left out.
/// </remarks>
internal sealed partial class RunRecorder
{
    /// <summary>Attempts kept one by one; later ones count in the stage totals only.</summary>
    public const int MaxAttempts = 200_000;

    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly Lock _gate = new();
    private readonly List<AttemptReport> _attempts = [];
    private readonly List<string> _rows = [];
    private readonly Dictionary<string, int> _rowIndex = new(StringComparer.Ordinal);
    private readonly List<PhaseReport> _phases = [];
    private readonly int _maxAttempts;
    private StageTotals[] _stages = [];
    private (string Name, double StartMs)? _phase;
    private int _omitted;

    /// <param name="time">The run's clock.</param>
    /// <param name="maxAttempts">Attempts kept one by one (tests make it small).</param>
    public RunRecorder(TimeProvider time, int maxAttempts = MaxAttempts)
    {
        _time = time;
        _origin = time.GetTimestamp();
        StartedAt = time.GetUtcNow();
        _maxAttempts = maxAttempts;
    }

    /// <summary>A recorder of a run that started at <paramref name="startedAt"/>, to report it from its records afterwards.</summary>
    private RunRecorder(DateTimeOffset startedAt)
        : this(TimeProvider.System) => StartedAt = startedAt;

    /// <summary>When the run started: time 0 of the report.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Where the tasks run (see <see cref="RunReport.Executor"/>).</summary>
    public string Executor { get; set; } = "local";

    /// <summary>Milliseconds since the run started.</summary>
    public double Now => _time.GetElapsedTime(_origin).TotalMilliseconds;

    /// <summary>Sets the plan whose stages the totals are kept for.</summary>
    public void SetPlan(Plan plan) => SetStages(plan.Stages.Select(s => new PlanStageIndex(s.Name, s.Tasks.Count)));

    /// <summary>
    /// The report of a run whose tasks ran without a driver (an Argo Workflow), from its commit records: one committed
    /// attempt per task, timed as its marker says, on the row of the worker (pod) that ran it.
    /// </summary>
    public static RunReport FromCommits(PlanIndex plan, IEnumerable<CommitMarker> markers, RunSummary summary, string executor)
    {
        var recorder = new RunRecorder(plan.CreatedAt) { Executor = executor };
        recorder.SetStages(plan.Stages);
        foreach (var marker in markers.OrderBy(m => m.CommittedAt.UtcTicks - (m.DurationMs * TimeSpan.TicksPerMillisecond)))
        {
            var end = (marker.CommittedAt - plan.CreatedAt).TotalMilliseconds;
            recorder.Attempt(new AttemptReport
            {
                Stage = marker.Task.Stage,
                Task = marker.Task.Index,
                Attempt = marker.Attempt,
                Row = recorder.Row(marker.Worker ?? $"stage {plan.Stages[marker.Task.Stage].Name}"),
                StartMs = end - marker.DurationMs,
                EndMs = end,
                Outcome = AttemptOutcomes.Committed,
                BytesRead = marker.BytesRead ?? 0,
                BytesWritten = marker.BytesWritten ?? 0,
                Resources = marker.Resources,
            });
        }

        return recorder.Build(summary);
    }

    private void SetStages(IEnumerable<PlanStageIndex> stages)
    {
        lock (_gate)
        {
            _stages = stages.Select(s => new StageTotals(s.Name, s.Tasks)).ToArray();
        }
    }

    /// <summary>Ends the current phase now and starts <paramref name="name"/> (none after <c>done</c>).</summary>
    public void Phase(string name)
    {
        var now = Now;
        lock (_gate)
        {
            if (_phase is { } current)
            {
                _phases.Add(new PhaseReport(current.Name, current.StartMs, now));
            }

            _phase = name == RunPhases.Done ? null : (name, now);
        }
    }

    /// <summary>The index of timeline row <paramref name="name"/>, added when new.</summary>
    public int Row(string name)
    {
        lock (_gate)
        {
            if (!_rowIndex.TryGetValue(name, out var row))
            {
                _rowIndex[name] = row = _rows.Count;
                _rows.Add(name);
            }

            return row;
        }
    }

    /// <summary>The name of timeline row <paramref name="row"/>, or <see langword="null"/> when there is no such row.</summary>
    public string? RowName(int row)
    {
        lock (_gate)
        {
            return row >= 0 && row < _rows.Count ? _rows[row] : null;
        }
    }

    /// <summary>Adds rows <c>{prefix} 1</c> … <c>{prefix} {count}</c> and returns the index of the first.</summary>
    public int Rows(string prefix, int count)
    {
        var first = Row(Name(prefix, 1));
        for (var i = 2; i <= count; i++)
        {
            Row(Name(prefix, i));
        }

        return first;
    }

    /// <summary>Records one attempt that ended.</summary>
    public void Attempt(AttemptReport attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        lock (_gate)
        {
            if (attempt.Stage < _stages.Length)
            {
                _stages[attempt.Stage].Add(attempt);
            }

            if (_attempts.Count < _maxAttempts)
            {
                _attempts.Add(attempt);
            }
            else
            {
                _omitted++;
            }
        }
    }

    /// <summary>Records that a task of <paramref name="stage"/> failed on every attempt.</summary>
    public void TaskFailed(int stage)
    {
        lock (_gate)
        {
            if (stage < _stages.Length)
            {
                _stages[stage].Failed++;
            }
        }
    }

    /// <summary>Records that the commit of a task of <paramref name="stage"/> was set aside (its outputs were lost), so that it runs again.</summary>
    public void TaskSetAside(int stage)
    {
        lock (_gate)
        {
            if (stage < _stages.Length)
            {
                _stages[stage].SetAside++;
            }
        }
    }

    /// <summary>
    /// Records that task <paramref name="task"/> of <paramref name="stage"/> was taken from the task cache: counted
    /// per stage, and shown on the timeline's <c>cache</c> row as an attempt of no length (outcome
    /// <see cref="AttemptOutcomes.Cached"/>), which is not counted as an attempt.
    /// </summary>
    public void TaskCached(int stage, int task)
    {
        var row = Row("cache");
        var now = Now;
        lock (_gate)
        {
            if (stage < _stages.Length)
            {
                _stages[stage].Cached++;
            }

            if (_attempts.Count < _maxAttempts)
            {
                _attempts.Add(new AttemptReport { Stage = stage, Task = task, Attempt = 0, Row = row, StartMs = now, EndMs = now, Outcome = AttemptOutcomes.Cached });
            }
            else
            {
                _omitted++;
            }
        }
    }

    /// <summary>Records that <paramref name="count"/> tasks of <paramref name="stage"/> were passed over: only tasks taken from the cache read them.</summary>
    public void TasksNotNeeded(int stage, int count)
    {
        lock (_gate)
        {
            if (stage < _stages.Length)
            {
                _stages[stage].Cached += count;
            }
        }
    }

    /// <summary>Records that a task of <paramref name="stage"/> was found committed by an earlier driver.</summary>
    public void TaskSkipped(int stage)
    {
        lock (_gate)
        {
            if (stage < _stages.Length)
            {
                _stages[stage].Skipped++;
            }
        }
    }

    /// <summary>The report of the run so far, with <paramref name="summary"/>; the current phase counts as ended now.</summary>
    public RunReport Build(RunSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var now = Now;
        lock (_gate)
        {
            var phases = new List<PhaseReport>(_phases);
            if (_phase is { } current)
            {
                phases.Add(new PhaseReport(current.Name, current.StartMs, now));
            }

            return new RunReport
            {
                Summary = summary,
                StartedAt = StartedAt,
                Executor = Executor,
                Rows = [.. _rows],
                Stages = _stages.Select((s, i) => s.ToReport(i)).ToArray(),
                Attempts = [.. _attempts.OrderBy(a => a.StartMs).ThenBy(a => a.Stage).ThenBy(a => a.Task)],
                AttemptsOmitted = _omitted,
                Phases = phases,
            };
        }
    }

    private static string Name(string prefix, int number) => string.Create(CultureInfo.InvariantCulture, $"{prefix} {number}");

    private sealed class StageTotals(string name, int tasks)
    {
        private readonly List<double> _durations = [];
        private int _committed;
        private int _attempts;
        private int _retries;
        private long _read;
        private long _written;
        private double? _start;
        private double? _end;

        public int Failed { get; set; }

        public int Skipped { get; set; }

        public int Cached { get; set; }

        public int SetAside { get; set; }

        public ResourceTotals Resources { get; } = new();

        public void Add(AttemptReport attempt)
        {
            Resources.Add(attempt.Resources);
            _attempts++;
            _retries += attempt.Attempt > 1 ? 1 : 0;
            _read += attempt.BytesRead;
            _written += attempt.BytesWritten;
            _start = Math.Min(_start ?? double.MaxValue, attempt.StartMs);
            _end = Math.Max(_end ?? double.MinValue, attempt.EndMs);
            if (attempt.Outcome == AttemptOutcomes.Committed)
            {
                _committed++;
                _durations.Add(attempt.EndMs - attempt.StartMs);
            }
        }

        public StageReport ToReport(int index)
        {
            _durations.Sort();
            return new StageReport
            {
                Index = index,
                Name = name,
                Tasks = tasks,
                Committed = _committed,
                Skipped = Skipped,
                Cached = Cached,
                SetAside = SetAside,
                Failed = Failed,
                Attempts = _attempts,
                Retries = _retries,
                BytesRead = _read,
                BytesWritten = _written,
                StartMs = _start,
                EndMs = _end,
                MedianTaskMs = _durations.Count == 0 ? null
                    : _durations.Count % 2 == 1 ? _durations[_durations.Count / 2]
                    : (_durations[(_durations.Count / 2) - 1] + _durations[_durations.Count / 2]) / 2,
                MaxTaskMs = _durations.Count == 0 ? null : _durations[^1],
                Resources = Resources.Total(),
            };
        }
    }
}
