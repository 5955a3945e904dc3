using Dataflow.Core;

namespace Dataflow.Worker;

public sealed partial class RunWatcher
{
    /// <summary>The timeline row of attempts the driver ran in its own process (markers without a worker).</summary>
    public const string DriverRow = "driver";

    /// <summary>The run as its records show it now (as of the last <see cref="RefreshAsync"/>): state, stages, summary.</summary>
    public RunView GetView()
    {
        lock (_gate)
        {
            var state = RunCatalog.StateOf(_lease, _damage, _summary, _time);
            var stages = _stages.Select((s, i) =>
            {
                var reported = _report?.Stages.FirstOrDefault(r => r.Index == i);
                if (_recordsPending > 0 && reported is not null)
                {
                    // Its commit records are still being read: the report's totals are the whole run's.
                    return new StageView(i, reported.Name, reported.Tasks, reported.Committed + reported.Skipped + reported.Cached, reported.BytesRead, reported.BytesWritten)
                    {
                        Cached = reported.Cached,
                        SetAside = reported.SetAside,
                        Failed = reported.Failed,
                        StartMs = reported.StartMs,
                        EndMs = reported.EndMs,
                    };
                }

                return new StageView(i, _plan!.Stages[i].Name, s.Count, s.CommittedCount, s.BytesReadTotal, s.BytesWrittenTotal)
                {
                    Running = state == RunCatalog.Running && _progress is { } live && i < live.Running.Count ? live.Running[i] : null,
                    Cached = s.CachedCount,
                    SetAside = s.SetAsideCount,
                    Failed = reported?.Failed ?? FailedTasks(i).Count,
                    StartMs = reported?.StartMs,
                    EndMs = reported?.EndMs,
                };
            }).ToList();
            return new RunView(RunId, _summary?.Job ?? _plan?.Job, state)
            {
                CreatedAt = _plan?.CreatedAt,
                DataflowVersion = _plan?.DataflowVersion,
                InputCount = _plan?.InputCount,
                Arguments = _plan?.Arguments,
                Cache = _plan?.Cache.ToString().ToLowerInvariant(),
                Stages = stages,
                Outputs = _plan?.Outputs.Select(o => o.Key).ToList() ?? [],
                Summary = _summary,
                Lease = _lease is null ? null : new RunLeaseInfo(_lease.Holder, _lease.ExpiresAt, RunCatalog.IsLive(_lease, _time)) { Workflow = _lease.Workflow },
                Damage = _damage,
                Executor = _report?.Executor,
                HasReport = _report is not null,
                ElapsedMs = ElapsedMs(state),
                RecordsRead = _recordsRead.Count,
                RecordsPending = _recordsPending,
                Phase = state == RunCatalog.Running ? _progress?.Phase : null,
            };
        }
    }

    /// <summary>How long the run has run: to now while it runs, else to its last commit (or summary).</summary>
    private double ElapsedMs(string state)
    {
        if (_plan is null)
        {
            return 0;
        }

        if (state == RunCatalog.Running)
        {
            return Math.Max(0, (_time.GetUtcNow() - _plan.CreatedAt).TotalMilliseconds);
        }

        var last = _lastEndMs;
        // The report's phases (publishing, cleaning up) end after the last commit; its times count from the driver's start.
        if (_report is { Phases.Count: > 0 } report)
        {
            last = Math.Max(last, report.Phases[^1].EndMs - (_plan.CreatedAt - report.StartedAt).TotalMilliseconds);
        }

        return last;
    }

    /// <summary>
    /// The run's timeline, aggregated: its length cut into <paramref name="buckets"/> equal times, and per worker
    /// (the busiest <paramref name="maxRows"/>, the rest on one row) how many of its tasks ran on average in each and of
    /// which stage most; and per stage the tasks that committed in each. Its size depends on the arguments, not on
    /// the run's tasks.
    /// </summary>
    /// <param name="buckets">Times to cut the run into, 1 to 2,000.</param>
    /// <param name="maxRows">Rows to show at most, 1 to 1,000.</param>
    public TimelineView GetTimeline(int buckets = 120, int maxRows = 40)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(buckets, 2000);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRows, 1000);
        lock (_gate)
        {
            var state = RunCatalog.IsLive(_lease, _time) ? RunCatalog.Running : "ended";
            var length = Math.Max(1, ElapsedMs(state));
            var width = length / buckets;
            var rowCount = _rows.Count;
            var busy = new double[rowCount, buckets];
            var stageBusy = new Dictionary<(int Row, int Bucket), double[]>();
            var commits = new int[_stages.Length, buckets];
            for (var s = 0; s < _stages.Length; s++)
            {
                var stage = _stages[s];
                for (var i = 0; i < stage.Count; i++)
                {
                    if (stage.State[i] != Committed)
                    {
                        continue;
                    }

                    var start = Math.Clamp(stage.StartMs[i], 0, length);
                    var end = Math.Clamp(stage.StartMs[i] + stage.DurationMs[i], start, length);
                    commits[s, Math.Min(buckets - 1, (int)(end / width))]++;
                    var row = stage.Row[i];
                    for (var b = Math.Min(buckets - 1, (int)(start / width)); b < buckets && b * width < end; b++)
                    {
                        var overlap = Math.Min(end, (b + 1) * width) - Math.Max(start, b * width);
                        if (overlap <= 0)
                        {
                            continue;
                        }

                        busy[row, b] += overlap / width;
                        if (!stageBusy.TryGetValue((row, b), out var perStage))
                        {
                            stageBusy[(row, b)] = perStage = new double[_stages.Length];
                        }

                        perStage[s] += overlap;
                    }
                }
            }

            // The busiest rows, in the order they first appeared; the rest summed on one row.
            var totals = Enumerable.Range(0, rowCount).Select(r => (Row: r, Total: Enumerable.Range(0, buckets).Sum(b => busy[r, b]))).ToList();
            var shown = totals.OrderByDescending(t => t.Total).Take(rowCount > maxRows ? maxRows - 1 : maxRows).Select(t => t.Row).Order().ToList();
            var rows = shown.Select(r => Row(_rows[r], [r])).ToList();
            if (rowCount > shown.Count)
            {
                var rest = Enumerable.Range(0, rowCount).Except(shown).ToList();
                rows.Add(Row($"{rest.Count} other workers", rest));
            }

            return new TimelineView(length, width, rows, [.. Enumerable.Range(0, _stages.Length).Select(s => (IReadOnlyList<int>)[.. Enumerable.Range(0, buckets).Select(b => commits[s, b])])]);

            TimelineRow Row(string name, List<int> members)
            {
                var load = new double[buckets];
                var dominant = new int[buckets];
                for (var b = 0; b < buckets; b++)
                {
                    var perStage = new double[_stages.Length];
                    foreach (var r in members)
                    {
                        load[b] += busy[r, b];
                        if (stageBusy.TryGetValue((r, b), out var part))
                        {
                            for (var s = 0; s < part.Length; s++)
                            {
                                perStage[s] += part[s];
                            }
                        }
                    }

                    load[b] = Math.Round(load[b], 2);
                    dominant[b] = load[b] > 0 ? Array.IndexOf(perStage, perStage.Max()) : -1;
                }

                return new TimelineRow(name, load, dominant);
            }
        }
    }

    /// <summary>
    /// A page of the tasks of <paramref name="stage"/>: those in <paramref name="state"/> (any when
    /// <see langword="null"/>), from the <paramref name="offset"/>-th such task, at most <paramref name="limit"/>.
    /// </summary>
    /// <param name="stage">The stage's index.</param>
    /// <param name="state">One of <see cref="TaskStates"/>, or <see langword="null"/> for all.</param>
    /// <param name="offset">How many matching tasks to pass over.</param>
    /// <param name="limit">Tasks to return at most, 1 to 1,000.</param>
    /// <exception cref="ArgumentOutOfRangeException">No such stage (the message names the run's stages), or a bad offset or limit.</exception>
    /// <exception cref="ArgumentException"><paramref name="state"/> is not a task state.</exception>
    public TaskPage GetTasks(int stage, string? state, int offset, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
        if (state is not null && !TaskStates.All.Contains(state))
        {
            throw new ArgumentException($"'{state}' is not a task state: use one of {string.Join(", ", TaskStates.All)}", nameof(state));
        }

        lock (_gate)
        {
            if (stage < 0 || stage >= _stages.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(stage), stage, $"run '{RunId}' has stages 0 to {_stages.Length - 1}, not {stage}");
            }

            var tasks = _stages[stage];
            var failed = FailedTasks(stage);
            var items = new List<TaskView>(Math.Min(limit, tasks.Count));
            var matched = 0;
            for (var i = 0; i < tasks.Count; i++)
            {
                var taskState = StateOf(tasks, i, failed);
                if (state is not null && taskState != state)
                {
                    continue;
                }

                if (matched++ >= offset && items.Count < limit)
                {
                    items.Add(View(tasks, i, taskState));
                }
            }

            return new TaskPage(stage, state, offset, matched, items);
        }
    }

    private static string StateOf(StageTasks tasks, int i, HashSet<int> failed) => tasks.State[i] switch
    {
        Committed => TaskStates.Committed,
        Cached or NotNeeded => TaskStates.Cached,
        _ => failed.Contains(i) ? TaskStates.Failed : TaskStates.Pending,
    };

    /// <summary>Tasks of <paramref name="stage"/> not committed whose attempts the run's records say failed. Called under the gate.</summary>
    private HashSet<int> FailedTasks(int stage)
    {
        var failed = new HashSet<int>();
        foreach (var task in _failureRecords.Select(r => r.Task).Concat((_report?.Attempts ?? []).Where(a => a.Outcome == AttemptOutcomes.Failed).Select(a => new TaskId(a.Stage, a.Task))))
        {
            if (task.Stage == stage && StageOf(task) is { } tasks && tasks.State[task.Index] == Pending)
            {
                failed.Add(task.Index);
            }
        }

        return failed;
    }

    /// <summary>
    /// The failed attempts the run's records hold (failure records, and its report's once it has one), newest first, at most
    /// <paramref name="max"/>, each with its task's inputs from the plan.
    /// </summary>
    /// <param name="max">Attempts to return at most.</param>
    /// <param name="cancellationToken">Stops reading the plan.</param>
    public async Task<FailureList> GetFailuresAsync(int max = 50, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        List<FailedAttemptView> all;
        PlanIndex? plan;
        lock (_gate)
        {
            plan = _plan;
            all = Failures();
        }

        var failures = new List<FailedAttemptView>(Math.Min(max, all.Count));
        foreach (var failure in all.OrderByDescending(f => f.At).Take(max))
        {
            failures.Add(failure with { Inputs = plan is null ? [] : await InputsAsync(plan, failure.Task, cancellationToken).ConfigureAwait(false) });
        }

        return new FailureList(all.Count, failures);
    }

    /// <summary>
    /// Every failed attempt the records show: the failure records drivers write as attempts fail (while the run goes
    /// on), and the report's failed attempts (once it ended; a run of an older build has only these), each attempt once.
    /// Called under the gate.
    /// </summary>
    private List<FailedAttemptView> Failures()
    {
        var all = new Dictionary<(TaskId, int), FailedAttemptView>();
        foreach (var record in _failureRecords)
        {
            all[(record.Task, record.Attempt)] = new FailedAttemptView(record.Task, record.Attempt, record.Error)
            {
                Worker = record.Worker,
                At = record.EndedAt,
                Permanent = record.Permanent,
            };
        }

        if (_report is { } report)
        {
            foreach (var attempt in report.Attempts)
            {
                var task = new TaskId(attempt.Stage, attempt.Task);
                if (attempt.Outcome == AttemptOutcomes.Failed && !all.ContainsKey((task, attempt.Attempt)))
                {
                    all[(task, attempt.Attempt)] = new FailedAttemptView(task, attempt.Attempt, attempt.Error)
                    {
                        Worker = attempt.Row >= 0 && attempt.Row < report.Rows.Count ? report.Rows[attempt.Row] : null,
                        At = report.StartedAt.AddMilliseconds(attempt.EndMs),
                    };
                }
            }
        }

        return [.. all.Values];
    }

    /// <summary>One task in detail: its state, its inputs (object keys, or the tasks whose outputs it reads) and outputs from the plan.</summary>
    /// <param name="task">The task.</param>
    /// <param name="cancellationToken">Stops reading the plan.</param>
    /// <returns>The task, or <see langword="null"/> when the run has no plan or no such task.</returns>
    public async Task<TaskDetail?> GetTaskAsync(TaskId task, CancellationToken cancellationToken = default)
    {
        PlanIndex? plan;
        TaskView view;
        lock (_gate)
        {
            plan = _plan;
            if (plan is null || StageOf(task) is null)
            {
                return null;
            }

            var tasks = _stages[task.Stage];
            view = View(tasks, task.Index, StateOf(tasks, task.Index, FailedTasks(task.Stage)));
        }

        var planTask = await PlanTaskAsync(plan, task, cancellationToken).ConfigureAwait(false);
        return new TaskDetail(task, plan.Stages[task.Stage].Name, planTask.Operator, view)
        {
            Inputs = [.. planTask.Inputs.Select(Describe)],
            Outputs = planTask.Outputs,
        };
    }

    private TaskView View(StageTasks tasks, int i, string state)
    {
        var done = tasks.State[i] is Committed or Cached;
        var ran = tasks.State[i] == Committed;
        return new TaskView(i, state)
        {
            Attempt = done ? tasks.Attempt[i] : null,
            Worker = ran ? _rows[tasks.Row[i]] : null,
            StartMs = ran ? tasks.StartMs[i] : null,
            DurationMs = ran ? tasks.DurationMs[i] : null,
            BytesRead = done ? tasks.BytesRead[i] : 0,
            BytesWritten = done ? tasks.BytesWritten[i] : 0,
        };
    }

    /// <summary>An input as people read it: an object key (with its byte range), or a task's output.</summary>
    private static string Describe(ArtifactRef input) =>
        input.Key is { } key
            ? input.Offset is { } offset ? FormattableString.Invariant($"{key} (bytes {offset}–{offset + input.Length - 1})") : key
            : FormattableString.Invariant($"output '{input.Output}' of task {input.Task}");
}
