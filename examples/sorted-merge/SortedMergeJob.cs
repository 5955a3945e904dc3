using Dataflow.Core;

namespace Dataflow.Examples.SortedMerge;

/// <summary>The job: every object under the input prefix is sorted numbers, one per line; a typed reduce tree merges them into one sorted object.</summary>
public static class SortedMergeJob
{
    /// <summary>The typed tree: 64-bit integers, text in, binary records (zig-zag varints) between levels, text or binary out.</summary>
    public static RecordTreeSpec<long> Spec(RecordFileFormat outputFormat, RecordFileFormat intermediateFormat = RecordFileFormat.Binary) => new()
    {
        Name = "sorted-merge",
        Version = "1", // for the task cache (--cache on); the formats are added to it
        Codec = RecordCodecs.Varint64,
        Order = Comparer<long>.Default,
        Text = new Int64Lines(),
        IntermediateFormat = intermediateFormat,
        OutputFormat = outputFormat,
    };

    /// <summary>The job over <paramref name="inputPrefix"/>, in a tree of <paramref name="shape"/>, written to <paramref name="outputKey"/>.</summary>
    public static Job Create(string inputPrefix, ReduceTreeOptions shape, string outputKey, RecordFileFormat outputFormat = RecordFileFormat.Text, RecordFileFormat intermediateFormat = RecordFileFormat.Binary) =>
        Job.Named("sorted-merge")
            .FromPrefix(inputPrefix)
            .ReduceTree(shape, Spec(outputFormat, intermediateFormat))
            .WriteTo(outputKey);
}
