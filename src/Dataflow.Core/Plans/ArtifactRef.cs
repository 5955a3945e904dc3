using System.Text.Json.Serialization;

namespace Dataflow.Plans;

/// <summary>
/// A task's input: either a job input object (<see cref="Key"/>) or a named output of another task
/// (<see cref="Task"/> and <see cref="Output"/>). Exactly one form is set.
/// </summary>
public sealed record ArtifactRef
{
    /// <summary>The key of a job input object; <see langword="null"/> for a task output.</summary>
    [JsonPropertyOrder(0)]
    public string? Key { get; init; }

    /// <summary>The producing task; <see langword="null"/> for a job input.</summary>
    [JsonPropertyOrder(1)]
    public TaskId? Task { get; init; }

    /// <summary>The producing task's output name; <see langword="null"/> for a job input.</summary>
    [JsonPropertyOrder(2)]
    public string? Output { get; init; }

    /// <summary>True for a job input object.</summary>
    [JsonIgnore]
    public bool IsJobInput => Key is not null;

    /// <summary>A job input object.</summary>
    public static ArtifactRef JobInput(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new ArtifactRef { Key = key };
    }

    /// <summary>The output <paramref name="output"/> of task <paramref name="task"/>.</summary>
    public static ArtifactRef TaskOutput(TaskId task, string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return new ArtifactRef { Task = task, Output = output };
    }

    /// <inheritdoc />
    public override string ToString() => Key is not null ? $"input '{Key}'" : $"output '{Output}' of task {Task}";
}
