using System.Globalization;

namespace Dataflow.Core;

/// <summary>
/// A job's map-reduce step as the planner sees it: the map and reduce operators (typed by the
/// <see cref="MapReduceSpec{TKey, TValue, TResult}"/> they were made from) and the shape of the stages.
/// </summary>
public sealed class MapReduceStep
{
    internal MapReduceStep(IObjectOperator map, IObjectOperator reduce, int reducers, long splitSize, int maxObjectsPerSplit, string? mergedOutputKey)
    {
        Map = map;
        Reduce = reduce;
        Reducers = reducers;
        SplitSize = splitSize;
        MaxObjectsPerSplit = maxObjectsPerSplit;
        MergedOutputKey = mergedOutputKey;
    }

    /// <summary>The operator of map tasks.</summary>
    public IObjectOperator Map { get; }

    /// <summary>The operator of reduce tasks.</summary>
    public IObjectOperator Reduce { get; }

    /// <summary>Reduce tasks (partitions, output parts).</summary>
    public int Reducers { get; }

    /// <summary>The bytes one map task reads.</summary>
    public long SplitSize { get; }

    /// <summary>The most objects one map task reads.</summary>
    public int MaxObjectsPerSplit { get; }

    /// <summary>The key of the one object the parts are concatenated into, if any.</summary>
    public string? MergedOutputKey { get; }

    /// <summary>The name of a map task's output for partition <paramref name="partition"/>.</summary>
    public static string PartitionName(int partition) => string.Create(CultureInfo.InvariantCulture, $"p{partition:D5}");

    /// <summary>The key of output part <paramref name="partition"/> under <paramref name="outputPrefix"/>.</summary>
    public static string PartKey(string outputPrefix, int partition) => string.Create(CultureInfo.InvariantCulture, $"{outputPrefix}part-{partition:D5}");
}
