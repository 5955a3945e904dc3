namespace Dataflow.Core;

/// <summary>Checks a map-reduce spec and makes its operators.</summary>
internal static class MapReduceFactory
{
    public static (MapReduceStep Step, IObjectOperator[] Operators) Create<TKey, TValue, TResult>(string jobName, MapReduceSpec<TKey, TValue, TResult> spec)
        where TKey : notnull
    {
        if (spec.Reducers < 1)
        {
            throw new JobDefinitionException(jobName, $"the number of reducers must be at least 1 (got {spec.Reducers})");
        }

        if (spec.Reducers > 100_000)
        {
            throw new JobDefinitionException(jobName, $"the number of reducers must be at most 100,000 (got {spec.Reducers})");
        }

        if (spec.SplitSize < 1024)
        {
            throw new JobDefinitionException(jobName, $"the split size must be at least 1 KiB (got {spec.SplitSize} bytes)");
        }

        if (spec.MaxObjectsPerSplit < 1)
        {
            throw new JobDefinitionException(jobName, $"a split must be allowed at least one object (got {spec.MaxObjectsPerSplit})");
        }

        if (spec.MapMemory < 64 * 1024 || spec.ReduceMemory < 2 * ReduceOperator<TKey, TValue, TResult>.ReadBuffer)
        {
            throw new JobDefinitionException(jobName, "the map memory must be at least 64 KiB and the reduce memory at least 128 KiB");
        }

        var keyCodec = spec.KeyCodec ?? RecordCodecs.BuiltIn<TKey>() ?? throw NoCodec(jobName, typeof(TKey), "key", "KeyCodec");
        var valueCodec = spec.ValueCodec ?? RecordCodecs.BuiltIn<TValue>() ?? throw NoCodec(jobName, typeof(TValue), "value", "ValueCodec");
        var comparer = spec.KeyComparer ?? (typeof(TKey) == typeof(string) ? (IComparer<TKey>)StringComparer.Ordinal : Comparer<TKey>.Default);
        var types = new MapReduceTypes<TKey, TValue>(keyCodec, valueCodec, comparer, spec.Partitioner ?? new HashPartitioner<TKey>(), spec.Combiner);
        var map = new MapOperator<TKey, TValue>(types, spec.Mapper, spec.MapMemory, spec.MapVersion);
        var reduce = new ReduceOperator<TKey, TValue, TResult>(types, spec.Reducer, spec.ReduceMemory, spec.ReduceVersion);
        IObjectOperator[] operators = spec.MergedOutputKey is null ? [map, reduce] : [map, reduce, new ConcatOperator()];
        return (new MapReduceStep(map, reduce, spec.Reducers, spec.SplitSize, spec.MaxObjectsPerSplit, spec.MergedOutputKey), operators);
    }

    /// <summary>The error of a key or value type without a codec: it names the member of the spec to set.</summary>
    private static JobDefinitionException NoCodec(string jobName, Type type, string what, string member) =>
        new(jobName, $"the {what} type {TypeNames.Of(type)} has no built-in record codec (there are for string, long, int, double, float and byte[]): set MapReduceSpec.{member}; {RecordCodecs.HowToCompose(type)}");
}
