using System.Globalization;
using System.Text;
using Dataflow.Core;
using Dataflow.Hosting;
using Dataflow.Storage;

namespace Dataflow.Examples.WordCount;

/// <summary>
/// Word count as a Dataflow program: <c>run</c> (the default) counts the words of the text objects under the input
/// prefix into <c>&lt;output&gt;part-00000</c> … and checks the result against a straightforward single-threaded
/// count; <c>generate</c> writes a reproducible corpus.
/// </summary>
public static class WordCountProgram
{
    /// <summary>Builds the program.</summary>
    public static DataflowApp Create()
    {
        var app = new DataflowApp(
            "word-count",
            "Counts the words (runs of Unicode letters or digits, lower-cased) of the text objects under the input prefix with map, combine, shuffle and reduce; writes word<TAB>count lines to <output>part-00000 ... and checks them against a single-threaded count.",
            defaultInput: "input/",
            defaultOutput: "output/");
        var reducers = app.AddOption("--reducers", "Reduce tasks: output parts.", 4, "R", validate: r => r is >= 1 and <= 10_000 ? null : "must be between 1 and 10,000");
        var splitSize = app.AddOption("--split-size", "Bytes per map task: smaller objects are grouped, larger ones cut into ranges.", 64L << 20, "SIZE", parse: ByteSize.Parse, validate: v => v >= 1024 ? null : "must be at least 1KiB");
        var mapMemory = app.AddOption("--map-memory", "Memory a map task fills before spilling sorted runs to local disk.", 64L << 20, "SIZE", parse: ByteSize.Parse);
        var reduceMemory = app.AddOption("--reduce-memory", "Memory of a reduce task's read buffers (64KiB per run); more runs are merged in passes through local disk.", 64L << 20, "SIZE", parse: ByteSize.Parse);
        var skipVerify = app.AddOption("--skip-verify", "Do not check the output against a single-threaded count.", false);

        app.DefineJob(context => WordCountJob.Define(context.InputPrefix, context.OutputKey, context.Get(reducers), context.Get(splitSize), context.Get(mapMemory), context.Get(reduceMemory)));

        app.Verify(async (context, result, cancellationToken) =>
        {
            if (context.Get(skipVerify))
            {
                return new Verification(false, "not checked (--skip-verify)");
            }

            var expected = await CountAsync(context.Store, result.Plan.Inputs.Select(i => i.Key), cancellationToken).ConfigureAwait(false);
            var problem = await CompareAsync(context.Store, result.Plan.Outputs.Select(o => o.Key).ToList(), expected, cancellationToken).ConfigureAwait(false);
            return problem is null
                ? new Verification(true, string.Create(CultureInfo.InvariantCulture, $"{expected.Count} distinct words, {expected.Values.Sum()} in all, as a single-threaded count finds them"))
                : new Verification(false, problem);
        });

        var size = DataflowApp.CommandOption("--size", "Bytes per object.", 1L << 20, "SIZE", ByteSize.Parse, validate: n => n is >= 1 and <= 1L << 40 ? null : "must be between 1 byte and 1 TiB");
        var objects = DataflowApp.CommandOption("--objects", "Objects to write.", 16, "N", validate: n => n is >= 1 and <= 1_000_000 ? null : "must be between 1 and 1,000,000");
        var large = DataflowApp.CommandOption("--large-size", "Also write one larger object of this size (e.g. larger than the split size).", 0L, "SIZE", ByteSize.Parse);
        var seed = DataflowApp.CommandOption("--seed", "Seed of the corpus.", 42, "S");
        app.AddCommand("generate", "Write a reproducible corpus under the input prefix, then exit.", [size, objects, large, seed], async (context, cancellationToken) =>
        {
            await CorpusGenerator.WriteAsync(context.Store, context.InputPrefix, context.Get(size), context.Get(objects), context.Get(large), context.Get(seed), context.Concurrency, cancellationToken).ConfigureAwait(false);
            context.Info(string.Create(CultureInfo.InvariantCulture, $"wrote {context.Get(objects)} objects of {ByteSize.Format(context.Get(size))}{(context.Get(large) > 0 ? $" and one of {ByteSize.Format(context.Get(large))}" : string.Empty)} under '{context.InputPrefix}' in {context.Store.Location}"));
            return ExitCodes.Success;
        });
        return app;
    }

    /// <summary>The straightforward count: every line of every object, one after another, words grouped with LINQ.</summary>
    public static async Task<Dictionary<string, long>> CountAsync(IObjectStore store, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var lines = new List<string>();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            lines.Clear();
            var stream = await store.OpenReadAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            using (var reader = new StreamReader(stream, Encoding.UTF8))
            {
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    lines.Add(line);
                }
            }

            foreach (var group in lines.SelectMany(Words.Of).GroupBy(w => w, StringComparer.Ordinal))
            {
                counts[group.Key] = counts.GetValueOrDefault(group.Key) + group.LongCount();
            }
        }

        return counts;
    }

    /// <summary>Checks the parts: UTF-8 <c>word\tcount</c> lines, ordinal order within a part, each word in one part, counts as expected.</summary>
    public static async Task<string?> CompareAsync(IObjectStore store, IReadOnlyList<string> parts, Dictionary<string, long> expected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(expected);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            var bytes = await store.ReadAllBytesAsync(part, cancellationToken).ConfigureAwait(false);
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            if (text.Length > 0 && !text.EndsWith('\n'))
            {
                return $"'{part}' does not end with a line break";
            }

            string? previous = null;
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var tab = line.IndexOf('\t', StringComparison.Ordinal);
                if (tab <= 0 || !long.TryParse(line.AsSpan(tab + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                {
                    return $"'{part}' has a line that is not word<TAB>count: '{line}'";
                }

                var word = line[..tab];
                if (previous is not null && string.CompareOrdinal(previous, word) >= 0)
                {
                    return $"'{part}' is not in ordinal order: '{previous}' comes before '{word}'";
                }

                if (!seen.Add(word))
                {
                    return $"'{word}' appears in more than one part";
                }

                if (!expected.TryGetValue(word, out var want) || want != count)
                {
                    return $"'{word}' has count {count} in '{part}', but the single-threaded count says {(expected.TryGetValue(word, out var w) ? w : 0)}";
                }

                previous = word;
            }
        }

        return seen.Count == expected.Count ? null : $"the parts hold {seen.Count} distinct words, the single-threaded count {expected.Count}";
    }
}
