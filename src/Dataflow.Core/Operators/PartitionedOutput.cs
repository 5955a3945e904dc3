namespace Dataflow.Core;

/// <summary>
/// Several outputs written one after another into one stream (and stored as one object): each output is the slice
/// written between its <see cref="StartPartition"/> and the next. A map task writes its runs for all reducers this
/// way — one object, not one per reducer — and each reducer reads only its slice.
/// </summary>
public abstract class PartitionedOutput
{
    /// <summary>Where the bytes go. Do not dispose it; the task commits or discards it.</summary>
    public abstract Stream Stream { get; }

    /// <summary>Starts output <paramref name="name"/>: what is written from now on belongs to it. Outputs never started are empty.</summary>
    /// <exception cref="ArgumentException">The name is not one of this output's, or was already started.</exception>
    public abstract void StartPartition(string name);
}
