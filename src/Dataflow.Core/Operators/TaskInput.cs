namespace Dataflow.Core;

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

    /// <summary>
    /// For a job input (a whole object or a byte-range split of one): which object and which bytes of it.
    /// <see langword="null"/> for the output of another task.
    /// </summary>
    public virtual InputSplit? Split => null;

    /// <summary>
    /// For a job input: opens <paramref name="length"/> bytes of its object from <paramref name="offset"/>, wherever
    /// they lie, so that a record reader can look at the byte before its split or finish a record that runs past the
    /// split's end. The range must lie within the object.
    /// </summary>
    /// <exception cref="NotSupportedException">This input is not a job input.</exception>
    public virtual ValueTask<Stream> OpenObjectAsync(long offset, long length, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"input {Name} is not a job input object");

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Length} bytes)";
}
