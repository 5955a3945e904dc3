namespace Dataflow.Core;

/// <summary>What one attempt of one task sees: its identity, its inputs, and the means to write its outputs.</summary>
public abstract class ObjectTaskContext
{
    /// <summary>The job's name.</summary>
    public abstract string JobName { get; }

    /// <summary>The task's id in the plan.</summary>
    public abstract TaskId TaskId { get; }

    /// <summary>The attempt number, from 1.</summary>
    public abstract int Attempt { get; }

    /// <summary>The task's inputs, in plan order.</summary>
    public abstract IReadOnlyList<TaskInput> Inputs { get; }

    /// <summary>The names of the outputs the task must write.</summary>
    public abstract IReadOnlyList<string> OutputNames { get; }

    /// <summary>
    /// How many inputs the task may hold open at once. A store that reads over a bounded pool of connections (S3)
    /// gives each running task its share, so that tasks merging many inputs never wait on each other for a connection
    /// for ever; an operator that merges more inputs than this merges them in groups. Unbounded by default.
    /// </summary>
    public virtual int MaxOpenInputs => int.MaxValue;

    /// <summary>
    /// Creates output <paramref name="name"/> as a stream to write. The bytes become visible to other tasks only
    /// when the attempt commits, after the operator returns; disposing the stream does not publish anything.
    /// </summary>
    /// <exception cref="ArgumentException">The task has no such output, or it was already written.</exception>
    public abstract ValueTask<Stream> CreateOutputAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates the outputs <paramref name="names"/> as slices of one object written in one stream (see
    /// <see cref="PartitionedOutput"/>). Like other outputs they become visible when the attempt commits.
    /// </summary>
    /// <exception cref="ArgumentException">A name is not one of the task's outputs, or was already written.</exception>
    public abstract ValueTask<PartitionedOutput> CreatePartitionedOutputAsync(IReadOnlyList<string> names, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes output <paramref name="name"/> as the concatenation of <paramref name="inputs"/>, in order. The
    /// framework chooses how: the store's server-side compose, or (for an intermediate output whose pieces are large
    /// enough, see <see cref="ConcatenationOptions"/>) a reference to the inputs' byte ranges that moves no bytes at
    /// all until a final output needs them.
    /// </summary>
    /// <exception cref="ArgumentException">The task has no such output, it was already written, or an input is not one of this task's.</exception>
    public abstract ValueTask ConcatenateAsync(string name, IReadOnlyList<TaskInput> inputs, ConcatenationOptions options, CancellationToken cancellationToken = default);
}
