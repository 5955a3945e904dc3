using System.Collections.Concurrent;
using Dataflow.Core;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// Watches the running attempts of a run for stragglers (see <see cref="SpeculationOptions"/>): every
/// <see cref="SpeculationOptions.Interval"/> it compares each running attempt's time with its stage's committed
/// durations and starts one backup attempt of a task that runs too long, while capacity is free. It knows nothing of
/// how attempts run: each task's <see cref="SpeculativeRace"/> starts its own backup. Its timer runs only while some
/// task is registered.
/// </summary>
internal sealed partial class Speculator
{
    private readonly SpeculationOptions _options;
    private readonly TimeProvider _time;
    private readonly Plan _plan;
    private readonly List<long>[] _durations;
    private readonly (int Count, long Median)[] _medians;
    private readonly ConcurrentDictionary<TaskId, SpeculativeRace> _races = new();
    private readonly Lock _gate = new();
    private readonly List<Task> _stragglers = [];
    private ITimer? _timer;
    private int _ticking;
    private int _started;

    public Speculator(Plan plan, SpeculationOptions options, TimeProvider time)
    {
        _plan = plan;
        _options = options;
        _time = time;
        _durations = [.. plan.Stages.Select(_ => new List<long>())];
        _medians = new (int, long)[plan.Stages.Count];
    }

    /// <summary>
    /// How many backup attempts may start now: free slots or worker processes that no ready task waits for. The
    /// executor sets it; none by default (an executor that does not set it never speculates).
    /// </summary>
    public Func<int> FreeCapacity { get; set; } = static () => 0;

    /// <summary>Where started backups are logged.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Backup attempts started so far.</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Watches <paramref name="race"/>'s task until <see cref="Unregister"/>.</summary>
    public void Register(SpeculativeRace race)
    {
        _races[race.Task] = race;
        lock (_gate)
        {
            _timer ??= _time.CreateTimer(static s => ((Speculator)s!).Tick(), this, _options.Interval, _options.Interval);
        }
    }

    /// <summary>Stops watching <paramref name="race"/>'s task: it committed or failed for good.</summary>
    public void Unregister(SpeculativeRace race) => _races.TryRemove(new KeyValuePair<TaskId, SpeculativeRace>(race.Task, race));

    /// <summary>Counts a committed attempt of <paramref name="stage"/> that ran for <paramref name="duration"/>.</summary>
    public void Committed(int stage, TimeSpan duration)
    {
        lock (_gate)
        {
            _durations[stage].Add((long)duration.TotalMilliseconds);
        }
    }

    /// <summary>Keeps an attempt that lost its race (cancelled, ending), for <see cref="DrainAsync"/>.</summary>
    public void Track(Task attempt)
    {
        if (attempt.IsCompleted)
        {
            return;
        }

        lock (_gate)
        {
            _stragglers.RemoveAll(t => t.IsCompleted);
            _stragglers.Add(attempt);
        }
    }

    /// <summary>Waits until every attempt that lost its race has ended (its outputs deleted, its worker gone).</summary>
    public async Task DrainAsync()
    {
        Task[] ending;
        lock (_gate)
        {
            ending = [.. _stragglers];
            _stragglers.Clear();
        }

        try
        {
            await Task.WhenAll(ending).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Losers end cancelled or failed; their outcome was recorded where they ran.
        }
    }

    /// <summary>How long an attempt of <paramref name="stage"/> must have run to get a backup; <see langword="null"/> while too few of its tasks committed.</summary>
    internal TimeSpan? Threshold(int stage)
    {
        long median;
        lock (_gate)
        {
            var durations = _durations[stage];
            var needed = (int)Math.Ceiling(_options.Quantile * _plan.Stages[stage].Tasks.Count);
            if (durations.Count < needed)
            {
                return null;
            }

            // The median is sorted again only when the stage's committed attempts grew by a twentieth since the last
            // sort (or are few): a stage of a million tasks is not sorted on every tick of its last minutes.
            var (count, cached) = _medians[stage];
            if (durations.Count == 0)
            {
                median = 0;
            }
            else if (count > 0 && (durations.Count - count) * 20L < count)
            {
                median = cached;
            }
            else
            {
                var sorted = durations.ToArray();
                Array.Sort(sorted);
                median = sorted[sorted.Length / 2];
                _medians[stage] = (durations.Count, median);
            }
        }

        var after = TimeSpan.FromMilliseconds(median * _options.Multiplier);
        return after > _options.Floor ? after : _options.Floor;
    }

    private void Tick()
    {
        if (Interlocked.Exchange(ref _ticking, 1) == 1)
        {
            return;
        }

        try
        {
            if (_races.IsEmpty)
            {
                StopWhenIdle();
                return;
            }

            var free = FreeCapacity();
            if (free <= 0)
            {
                return;
            }

            var thresholds = new Dictionary<int, TimeSpan?>();
            var now = _time.GetTimestamp();
            foreach (var (race, ran) in _races.Values
                .Where(r => !r.BackupStarted && r.RunningSince != 0)
                .Select(r => (Race: r, Ran: _time.GetElapsedTime(r.RunningSince, now)))
                .OrderByDescending(r => r.Ran))
            {
                if (!thresholds.TryGetValue(race.Task.Stage, out var threshold))
                {
                    thresholds[race.Task.Stage] = threshold = Threshold(race.Task.Stage);
                }

                if (threshold is not { } after || ran < after || !race.TryStartBackup())
                {
                    continue;
                }

                Interlocked.Increment(ref _started);
                if (Logger is { } logger)
                {
                    var task = race.Task.ToString();
                    Log.BackupStarted(logger, task, _plan.Stages[race.Task.Stage].Name, (long)ran.TotalMilliseconds, (long)after.TotalMilliseconds);
                }

                if (--free == 0)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            // On a timer thread nothing may escape: a tick that failed starts no backup, and the next one tries again.
            if (Logger is { } logger)
            {
                Log.TickFailed(logger, ex.Message, ex);
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    private void StopWhenIdle()
    {
        ITimer? timer = null;
        lock (_gate)
        {
            if (_races.IsEmpty)
            {
                (timer, _timer) = (_timer, null);
            }
        }

        timer?.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 50, Level = LogLevel.Information, Message = "Task {Task} of stage {Stage} has run for {RanMs} ms (its stage's threshold: {AfterMs} ms): a backup attempt starts")]
        public static partial void BackupStarted(ILogger logger, string task, string stage, long ranMs, long afterMs);

        [LoggerMessage(EventId = 51, Level = LogLevel.Warning, Message = "Looking for stragglers failed: {Error}")]
        public static partial void TickFailed(ILogger logger, string error, Exception exception);
    }
}
