using System.Text.Json.Serialization;

namespace Dataflow.Core;

/// <summary>
/// A task's input: either a job input object (<see cref="Key"/>, optionally only the byte range
/// <see cref="Offset"/>/<see cref="Length"/> of it — a split) or a named output of another task
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

    /// <summary>For a split of a job input: the first byte of the range; <see langword="null"/> for the whole object.</summary>
    [JsonPropertyOrder(3)]
    public long? Offset { get; init; }

    /// <summary>For a split of a job input: the range's length; <see langword="null"/> for the whole object.</summary>
    [JsonPropertyOrder(4)]
    public long? Length { get; init; }

    /// <summary>True for a job input object.</summary>
    [JsonIgnore]
    public bool IsJobInput => Key is not null;

    /// <summary>A job input object.</summary>
    public static ArtifactRef JobInput(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new ArtifactRef { Key = key };
    }

    /// <summary>The byte range [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) of a job input object: a split.</summary>
    public static ArtifactRef JobInputRange(string key, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new ArtifactRef { Key = key, Offset = offset, Length = length };
    }

    /// <summary>The output <paramref name="output"/> of task <paramref name="task"/>.</summary>
    public static ArtifactRef TaskOutput(TaskId task, string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return new ArtifactRef { Task = task, Output = output };
    }

    /// <inheritdoc />
    public override string ToString() =>
        Key is null ? $"output '{Output}' of task {Task}"
        : Offset is { } offset ? $"input '{Key}' bytes {offset} to {offset + Length}"
        : $"input '{Key}'";
}
