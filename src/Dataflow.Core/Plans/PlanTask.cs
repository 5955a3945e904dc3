namespace Dataflow.Core;

/// <summary>One task: the operator it runs, the artifacts it reads and the outputs it writes, and the tasks it waits for.</summary>
public sealed record PlanTask
{
    /// <summary>The name of the operator, resolved in the job that the running program defines.</summary>
    public required string Operator { get; init; }

    /// <summary>What the task reads, in order.</summary>
    public required IReadOnlyList<ArtifactRef> Inputs { get; init; }

    /// <summary>The names of the outputs the task writes.</summary>
    public required IReadOnlyList<string> Outputs { get; init; }

    /// <summary>The tasks that must be committed before this one starts: at least every producer of an input.</summary>
    public required IReadOnlyList<TaskId> DependsOn { get; init; }
}
