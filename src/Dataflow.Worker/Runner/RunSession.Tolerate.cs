using System.Globalization;
using Dataflow.Core;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// Tolerated failures (<see cref="JobRunnerOptions.MaxFailedInputs"/>): a task whose operator tolerates it that fails
/// for good is committed by the driver as failed — a marker whose outputs are empty references, read as no bytes by
/// every reader in every process — while the inputs lost with such tasks stay within the run's budget.
/// </summary>
internal sealed partial class RunSession
{
    private readonly Lock _tolerating = new();
    private readonly HashSet<string> _lostInputs = new(StringComparer.Ordinal);
    private int? _budget;

    /// <summary>How many inputs may fail; <see cref="FailureTolerance.None"/> unless the runner's options say otherwise.</summary>
    public FailureTolerance Tolerance { get; init; } = FailureTolerance.None;

    /// <summary>True when <paramref name="id"/> may fail without failing the run: there is a budget, and its operator tolerates it.</summary>
    public bool MayTolerate(TaskId id) =>
        Tolerance.AllowsAny && _job.Operators.GetValueOrDefault(_plan.GetTask(id).Operator) is { ToleratesFailedTasks: true };

    /// <summary>
    /// Commits <paramref name="id"/>, which failed for good with <paramref name="failure"/>, as a tolerated failure when the
    /// inputs lost with it and with the failures before it (this driver's and earlier ones') stay within the budget.
    /// </summary>
    /// <returns>
    /// <see langword="null"/> when it was tolerated; otherwise why the budget does not allow it (the failure fails the run,
    /// its message ending with that).
    /// </returns>
    public async ValueTask<string?> TryTolerateAsync(TaskId id, TaskFailedException failure, CancellationToken cancellationToken)
    {
        var inputs = LostWith(_plan.GetTask(id));
        lock (_tolerating)
        {
            // Once per run: the budget, and the inputs an earlier driver's tolerated failures lost (replayed before any
            // task runs). From then on the lost inputs grow here, one failure at a time, not by a pass over every task.
            if (_budget is not { } budget)
            {
                _budget = budget = Tolerance.Budget(_plan.Inputs.Select(i => i.Key).Distinct(StringComparer.Ordinal).Count());
                _lostInputs.UnionWith(ToleratedFailures().SelectMany(t => t.Failure.Inputs));
            }

            var lost = _lostInputs.Count + inputs.Count(input => !_lostInputs.Contains(input));
            if (lost > budget)
            {
                Log.BudgetExceeded(Telemetry.Logger, id.ToString(), lost, Tolerance.ToString(), budget);
                return string.Create(CultureInfo.InvariantCulture, $"the failure budget is spent: {lost} inputs would have failed, more than --max-failed-inputs {Tolerance} allows ({budget})");
            }

            _lostInputs.UnionWith(inputs);
        }

        var marker = new CommitMarker
        {
            Task = id,
            AttemptId = RunLayout.ToleratedAttemptId(),
            Attempt = failure.Attempts,
            CommittedAt = Telemetry.Recorder.StartedAt.AddMilliseconds(Telemetry.Recorder.Now),
            DurationMs = 0,
            Outputs = [.. _plan.GetTask(id).Outputs.Select(name => new CommittedOutput { Name = name, Size = 0, Segments = [] })],
            Consumed = [],
            Failed = new ToleratedFailure(failure.Message, inputs),
        };

        // Stored before the readers go on: a worker process or a resumed run reads it from the store. Not cancelled
        // midway (as no task's commit is): a marker stored must be one this session knows, or the summary would not list it.
        await _committer.CommitAsync(marker).ConfigureAwait(false);
        Log.Tolerated(Telemetry.Logger, id.ToString(), string.Join(", ", inputs), failure.Message);
        await CommittedAsync(id, marker, replayed: false, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>The tolerated failures committed in this session (replayed or new), in task order.</summary>
    public IReadOnlyList<(TaskId Task, ToleratedFailure Failure)> ToleratedFailures()
    {
        var failures = new List<(TaskId, ToleratedFailure)>();
        for (var i = 0; i < _markers.Length; i++)
        {
            if (Volatile.Read(ref _markers[i]) is { Failed: { } failed } marker)
            {
                failures.Add((marker.Task, failed));
            }
        }

        failures.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return failures;
    }

    /// <summary>
    /// The tasks that are tolerated failures or read, directly or not, the outputs of one, by task: their outputs are
    /// those of part of the inputs, and must never stand for a full run's (the task cache keeps none of them). Empty
    /// when the run has no tolerated failure.
    /// </summary>
    public HashSet<TaskId> ToleratedFailureReaders()
    {
        var readers = new HashSet<TaskId>(ToleratedFailures().Select(t => t.Task));
        if (readers.Count == 0)
        {
            return readers;
        }

        // Tasks read earlier stages only: one pass in stage order reaches every reader.
        foreach (var id in _plan.TaskIds().OrderBy(t => t.Stage).ThenBy(t => t.Index))
        {
            if (_plan.GetTask(id).DependsOn.Any(readers.Contains))
            {
                readers.Add(id);
            }
        }

        return readers;
    }

    /// <summary>The inputs lost with <paramref name="task"/>: its job inputs' keys, or the task outputs it reads when it reads no job input.</summary>
    private static string[] LostWith(PlanTask task)
    {
        var keys = task.Inputs.Where(i => i.Key is not null).Select(i => i.Key!).Distinct(StringComparer.Ordinal).ToArray();
        return keys.Length > 0 ? keys : [.. task.Inputs.Select(i => $"{i.Task}:{i.Output}").Distinct(StringComparer.Ordinal)];
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "Task {Task} failed for good and is tolerated (its inputs {Inputs} are left out of the result): {Error}")]
        public static partial void Tolerated(ILogger logger, string task, string inputs, string error);

        [LoggerMessage(EventId = 61, Level = LogLevel.Error, Message = "Task {Task} failed for good and is not tolerated: {Lost} inputs would have failed, more than the {Tolerance} allowed ({Budget})")]
        public static partial void BudgetExceeded(ILogger logger, string task, int lost, string tolerance, int budget);
    }
}
