using System.Globalization;
using System.Text;

namespace Dataflow.Worker.Tests.Caching;

/// <summary>The jobs the task cache's tests run: the seed cascade with operators of a given version, and a word count.</summary>
internal static class CacheTestJobs
{
    /// <summary>A concatenation under a name and version of the test's choosing (<c>null</c>: never cached).</summary>
    public sealed class VersionedConcat(string name, string? version) : IObjectOperator
    {
        public string Name => name;

        public string? Version => version;

        public ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken) =>
            context.ConcatenateAsync(context.OutputNames[0], context.Inputs, ConcatenationOptions.Default, cancellationToken);
    }

    /// <summary>The seed cascade: the inputs merged in pairs, level after level, by <c>merge</c> and, on the last level, <c>final</c>.</summary>
    public static Job Cascade(string output = "output/merged.txt", string? mergeVersion = "1", string? finalVersion = "1") =>
        Job.Named("cascade").FromPrefix("input/")
            .ReduceTree(new ReduceTreeOptions { FanIn = 2 }, new VersionedConcat("merge", mergeVersion), new VersionedConcat("final", finalVersion))
            .WriteTo(output);

    /// <summary>Words counted: each input object its own map tasks (ranges of <paramref name="splitSize"/>), three reducers.</summary>
    public static Job WordCount(string output = "output/counts/", string mapVersion = "1", string reduceVersion = "1", Reducer<string, long, long>? reducer = null, long splitSize = 1024) =>
        Job.Named("words").FromPrefix("input/").MapReduce(new MapReduceSpec<string, long, long>
        {
            Mapper = new WordMapper(),
            Combiner = new Sum(),
            Reducer = reducer ?? new SumReducer(),
            Reducers = 3,
            SplitSize = splitSize,
            MaxObjectsPerSplit = 1,
            MapVersion = mapVersion,
            ReduceVersion = reduceVersion,
        }).WriteTo(output);

    /// <summary>Object <paramref name="index"/> of a word count's inputs: about 3 KiB of lines of words, differing with <paramref name="seed"/>.</summary>
    public static byte[] Words(int index, int seed = 0)
    {
        var random = new Random((index * 7919) + seed);
        var text = new StringBuilder();
        while (text.Length < 3000)
        {
            for (var w = random.Next(1, 10); w > 0; w--)
            {
                text.Append(CultureInfo.InvariantCulture, $"w{random.Next(0, 400)} ");
            }

            text.Append('\n');
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    public static string WordKey(int index) => string.Create(CultureInfo.InvariantCulture, $"input/{index:D3}.txt");

    public sealed class WordMapper : Mapper<string, long>
    {
        public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output)
        {
            foreach (var range in record.Split(' '))
            {
                if (!record[range].IsEmpty)
                {
                    output.EmitText(record[range], 1);
                }
            }
        }
    }

    public sealed class Sum : ICombiner<long>
    {
        public long Combine(long first, long second) => first + second;
    }

    public sealed class SumReducer : Reducer<string, long, long>
    {
        public override long Reduce(string key, IReadOnlyList<long> values) => values.Sum();
    }
}
