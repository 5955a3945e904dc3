using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>One task of a <see cref="RunReport"/> that failed for good and was tolerated: the run went on without its inputs.</summary>
internal sealed record ToleratedFailureReport
{
    /// <summary>The stage's index.</summary>
    public required int Stage { get; init; }

    /// <summary>The stage's name.</summary>
    public required string StageName { get; init; }

    /// <summary>The task's index in its stage.</summary>
    public required int Task { get; init; }

    /// <summary>The inputs left out of the result with it (see <see cref="RunSummary.FailedInputs"/>).</summary>
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>Why it failed, as its last attempt's error told it.</summary>
    public required string Error { get; init; }

    /// <summary>The reports of <paramref name="failures"/>, tasks of <paramref name="plan"/>; <see langword="null"/> when there are none.</summary>
    public static IReadOnlyList<ToleratedFailureReport>? Of(Plan plan, IReadOnlyList<(TaskId Task, ToleratedFailure Failure)> failures) =>
        failures.Count == 0 ? null : [.. failures.Select(f => new ToleratedFailureReport
        {
            Stage = f.Task.Stage,
            StageName = plan.Stages[f.Task.Stage].Name,
            Task = f.Task.Index,
            Inputs = f.Failure.Inputs,
            Error = f.Failure.Error,
        })];
}
