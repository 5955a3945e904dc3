using Dataflow.Core;

namespace Dataflow.Examples.WordCount;

/// <summary>The word-count job: words to (word, 1), summed map-side and in the reducers.</summary>
public static class WordCountJob
{
    /// <summary>Defines the job.</summary>
    public static Job Define(string input, string output, int reducers, long splitSize, long mapMemory, long reduceMemory) =>
        Job.Named("word-count")
            .FromPrefix(input)
            .MapReduce(new MapReduceSpec<string, long, long>
            {
                Mapper = new WordMapper(),
                Combiner = new Sum(),
                Reducer = new SumReducer(),
                // For the task cache (--cache on): bump when the mapper or combiner, or the reducer, changes what it writes.
                MapVersion = "1",
                ReduceVersion = "1",
                Reducers = reducers,
                SplitSize = splitSize,
                MapMemory = mapMemory,
                ReduceMemory = reduceMemory,
            })
            .WriteTo(output);

    /// <summary>Emits (word, 1) for every word of a line.</summary>
    public sealed class WordMapper : Mapper<string, long>
    {
        /// <inheritdoc />
        public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output)
        {
            ArgumentNullException.ThrowIfNull(output);
            var sink = new EmitSink(output);
            Words.Split(record, ref sink);
        }

        private readonly struct EmitSink(MapOutput<string, long> output) : IWordSink
        {
            public void OnWord(ReadOnlySpan<char> word) => output.EmitText(word, 1);
        }
    }

    /// <summary>Adds counts.</summary>
    public sealed class Sum : ICombiner<long>
    {
        /// <inheritdoc />
        public long Combine(long first, long second) => first + second;
    }

    /// <summary>Adds a word's counts; writes <c>word&lt;TAB&gt;count</c>.</summary>
    public sealed class SumReducer : Reducer<string, long, long>
    {
        /// <inheritdoc />
        public override long Reduce(string key, IReadOnlyList<long> values)
        {
            ArgumentNullException.ThrowIfNull(values);
            long total = 0;
            foreach (var value in values)
            {
                total += value;
            }

            return total;
        }
    }
}
