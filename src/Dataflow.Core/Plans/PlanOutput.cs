namespace Dataflow.Core;

/// <summary>A final output: the task output that is published under <see cref="Key"/> once the run has succeeded.</summary>
/// <param name="Key">The key the output is published under.</param>
/// <param name="Task">The task that produces it.</param>
/// <param name="Output">The name of that task's output.</param>
public sealed record PlanOutput(string Key, TaskId Task, string Output);
