namespace Dataflow.Operators;

/// <summary>One input of a task: a job input object or a committed output of another task.</summary>
public abstract class TaskInput
{
    /// <summary>A readable name for errors and logs: the object key, or <c>stage/index:output</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The input's length in bytes.</summary>
    public abstract long Length { get; }

    /// <summary>
    /// Opens the input for reading from the start. The stream checks what it delivers: reading past the end of a
    /// shorter object, or bytes that do not match the producer's checksum, throws <see cref="InvalidDataException"/>.
    /// </summary>
    public abstract ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Length} bytes)";
}
