namespace Dataflow.Core;

/// <summary>A stage: a named group of tasks (one level of a reduce tree). Stages order the plan for people and
/// emitters; the scheduler follows each task's own dependencies.</summary>
public sealed record PlanStage
{
    /// <summary>The stage's name, e.g. <c>level-1</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The stage's tasks; a task's index is its position here.</summary>
    public required IReadOnlyList<PlanTask> Tasks { get; init; }
}
