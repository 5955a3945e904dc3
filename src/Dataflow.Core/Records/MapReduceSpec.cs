namespace Dataflow.Core;

/// <summary>
/// A map-reduce step: map every input record to key/value pairs, optionally combine them map-side, shuffle them
/// into <see cref="Reducers"/> partitions by key, and reduce each key. Inputs are read as lines of UTF-8 text;
/// objects ending in <c>.gz</c> or <c>.zst</c> are decompressed (and never split by bytes).
/// </summary>
/// <typeparam name="TKey">The key type; keys are sorted with <see cref="KeyComparer"/>.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <typeparam name="TResult">The reducer's result type.</typeparam>
public sealed class MapReduceSpec<TKey, TValue, TResult>
    where TKey : notnull
{
    /// <summary>The mapper.</summary>
    public required Mapper<TKey, TValue> Mapper { get; init; }

    /// <summary>The map-side combiner, if values of a key can be combined early (e.g. counts added).</summary>
    public ICombiner<TValue>? Combiner { get; init; }

    /// <summary>The reducer.</summary>
    public required Reducer<TKey, TValue, TResult> Reducer { get; init; }

    /// <summary>
    /// The version of the map side — the mapper, the combiner, the codecs and the partitioner — for the task cache
    /// (see <see cref="IObjectOperator.Version"/>): change it when they change what a map task writes. Default
    /// <see langword="null"/>: map tasks (and so the reducers that read them) are never cached.
    /// </summary>
    public string? MapVersion { get; init; }

    /// <summary>
    /// The version of the reduce side — the reducer and its output format — for the task cache: change it when the
    /// reducer changes what it writes; map tasks stay cached. Default <see langword="null"/>: reduce tasks are never cached.
    /// </summary>
    public string? ReduceVersion { get; init; }

    /// <summary>Reduce tasks, and output parts. Default 1.</summary>
    public int Reducers { get; init; } = 1;

    /// <summary>The bytes one map task reads: smaller objects are grouped up to it, larger ones cut into ranges of it. Default 64 MiB.</summary>
    public long SplitSize { get; init; } = 64L << 20;

    /// <summary>The most objects one map task reads. Default 1,000.</summary>
    public int MaxObjectsPerSplit { get; init; } = 1000;

    /// <summary>Memory a map task may fill with pairs before it spills a sorted run to local disk. Default 64 MiB.</summary>
    public long MapMemory { get; init; } = 64L << 20;

    /// <summary>Memory a reduce task may use for read buffers (64 KiB per run read at once); with more runs it merges in passes through local disk. Default 64 MiB.</summary>
    public long ReduceMemory { get; init; } = 64L << 20;

    /// <summary>Also concatenate the parts, in partition order, into this one object (the parts are then intermediate).</summary>
    public string? MergedOutputKey { get; init; }

    /// <summary>The key codec; default: the built-in codec of <typeparamref name="TKey"/>.</summary>
    public RecordCodec<TKey>? KeyCodec { get; init; }

    /// <summary>The value codec; default: the built-in codec of <typeparamref name="TValue"/>.</summary>
    public RecordCodec<TValue>? ValueCodec { get; init; }

    /// <summary>The order of keys; default: ordinal for strings, <see cref="Comparer{T}.Default"/> otherwise.</summary>
    public IComparer<TKey>? KeyComparer { get; init; }

    /// <summary>The partitioner; default: <see cref="HashPartitioner{TKey}"/>.</summary>
    public IPartitioner<TKey>? Partitioner { get; init; }
}
