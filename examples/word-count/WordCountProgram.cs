using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Dataflow.Core;
using Dataflow.Hosting;
using Dataflow.Storage;

namespace Dataflow.Examples.WordCount;

/// <summary>
/// Word count as a Dataflow program: <c>run</c> (the default) counts the words of the text objects under the input
/// prefix into <c>&lt;output&gt;part-00000</c> … and checks the result (by default with a word total and checksum
/// from one parallel streaming pass over the input; with <c>--verify</c> against a single-threaded recount); <c>generate</c> writes a reproducible corpus.
/// </summary>
public static class WordCountProgram
{
    /// <summary>Builds the program.</summary>
    public static DataflowApp Create()
    {
        var app = new DataflowApp(
            "word-count",
            "Counts the words (runs of Unicode letters or digits, lower-cased) of the text objects under the input prefix with map, combine, shuffle and reduce; writes word<TAB>count lines to <output>part-00000 ... and checks them (a word total and checksum from a streaming pass over the input; --verify: a full single-threaded recount).",
            defaultInput: "input/",
            defaultOutput: "output/");
        var reducers = app.AddOption("--reducers", "Reduce tasks: output parts.", 4, "R", validate: r => r is >= 1 and <= 10_000 ? null : "must be between 1 and 10,000");
        var splitSize = app.AddOption("--split-size", "Bytes per map task: smaller objects are grouped, larger ones cut into ranges.", 64L << 20, "SIZE", parse: ByteSize.Parse, validate: v => v >= 1024 ? null : "must be at least 1KiB");
        var mapMemory = app.AddOption("--map-memory", "Memory a map task fills before spilling sorted runs to local disk.", 64L << 20, "SIZE", parse: ByteSize.Parse);
        var reduceMemory = app.AddOption("--reduce-memory", "Memory of a reduce task's read buffers (64KiB per run); more runs are merged in passes through local disk.", 64L << 20, "SIZE", parse: ByteSize.Parse);
        var verify = app.AddOption("--verify", "Check the output against a full single-threaded recount of every word (slow: about as long as counting the words on one core) instead of the default check (word total and checksum, in one parallel streaming pass).", false);
        var skipVerify = app.AddOption("--skip-verify", "Do not check the output.", false);

        app.DefineJob(context => WordCountJob.Define(context.InputPrefix, context.OutputKey, context.Get(reducers), context.Get(splitSize), context.Get(mapMemory), context.Get(reduceMemory)));

        app.Verify(async (context, result, cancellationToken) =>
        {
            if (context.Get(skipVerify))
            {
                return new Verification(false, "not checked (--skip-verify)");
            }

            var clock = Stopwatch.StartNew();
            var parts = result.Plan.Outputs.Select(o => o.Key).ToList();

            // A partial run (--max-failed-inputs) counted the inputs that did not fail: it is checked against those.
            var failed = (result.Summary.FailedInputs ?? []).ToHashSet(StringComparer.Ordinal);
            var inputs = result.Plan.Inputs.Where(i => !failed.Contains(i.Key)).ToList();
            var partial = failed.Count == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"PARTIAL run, checked against the {inputs.Count} inputs that did not fail ({failed.Count} failed and are left out): ");
            string? problem;
            string detail;
            if (context.Get(verify))
            {
                var expected = await CountAsync(context.Store, inputs.Select(i => i.Key), cancellationToken).ConfigureAwait(false);
                problem = await CompareAsync(context.Store, parts, expected, cancellationToken).ConfigureAwait(false);
                detail = string.Create(CultureInfo.InvariantCulture, $"{expected.Count} distinct words, {expected.Values.Sum()} in all, as a single-threaded recount finds them");
            }
            else
            {
                var check = await CheckAsync(context.Store, inputs, parts, context.Concurrency, cancellationToken).ConfigureAwait(false);
                problem = check.Problem;
                detail = string.Create(CultureInfo.InvariantCulture, $"{check.Distinct} distinct words, {check.Total} in all; the total and a checksum of every word's count equal a streaming pass over the input, the parts are well-formed and sorted (--verify recounts every word)");
            }

            return problem is null
                ? new Verification(true, string.Create(CultureInfo.InvariantCulture, $"{partial}{detail}; checked in {clock.Elapsed.TotalSeconds:0.000} s"))
                : new Verification(false, partial + problem);
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

    /// <summary>
    /// The straightforward count, <c>--verify</c>'s reference: every line of every object, one after another, into a
    /// <see cref="Dictionary{TKey, TValue}"/> of words (a string made only for a word not seen before).
    /// </summary>
    public static async Task<Dictionary<string, long>> CountAsync(IObjectStore store, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(keys);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        WordAction add = word => CollectionsMarshal.GetValueRefOrAddDefault(lookup, word, out _)++;
        foreach (var key in keys)
        {
            var stream = await store.OpenReadAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                Words.Split(line, add);
            }
        }

        return counts;
    }

    /// <summary>
    /// The default check, in one parallel streaming pass over the input (<see cref="WordTally"/>) and one over the
    /// parts: the parts are well-formed (<see cref="ReadPartsAsync"/>), their counts add up to the number of words in
    /// the input, and the sum over their lines of <c>count × hash(word)</c> equals the sum of the hash of every word
    /// of the input — so each word has its count, short of a 64-bit coincidence (the hash is seeded afresh each time).
    /// Memory: a read buffer per range being read and the set of distinct words; never the input.
    /// </summary>
    /// <returns>The output's distinct words and total, and what is wrong (<see langword="null"/> when nothing is).</returns>
    public static async Task<(long Distinct, long Total, string? Problem)> CheckAsync(IObjectStore store, IReadOnlyList<PlanInput> inputs, IReadOnlyList<string> parts, int parallelism, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var seed = (ulong)Random.Shared.NextInt64();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var input = WordTally.OfInputsAsync(store, inputs, seed, parallelism, 16L << 20, stop.Token);
        var output = default(WordTally);
        var distinct = 0L;
        string? problem = null;
        var partsRead = false;
        try
        {
            problem = await ReadPartsAsync(store, parts, (_, word, count) =>
            {
                distinct++;
                output += WordTally.Of(word, count, seed);
                return null;
            }, cancellationToken).ConfigureAwait(false);
            partsRead = problem is null;
        }
        finally
        {
            if (!partsRead)
            {
                // The input's pass is no use once the parts are found wrong (or unreadable): stop it, and wait for it.
                await stop.CancelAsync().ConfigureAwait(false);
                await ((Task)input).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        if (problem is not null)
        {
            return (distinct, output.Total, problem);
        }

        var expected = await input.ConfigureAwait(false);
        problem ??= output.Total != expected.Total
            ? $"the parts' counts add up to {output.Total} words, the input has {expected.Total}"
            : output.Checksum != expected.Checksum
                ? $"the parts hold {output.Total} words in all, as the input does, but their checksum differs from the input's: some word's count is wrong (or a word is)"
                : null;
        return (distinct, output.Total, problem);
    }

    /// <summary>Checks the parts (<see cref="ReadPartsAsync"/>) and every count against <paramref name="expected"/>, which must hold every word of the parts and no other.</summary>
    public static async Task<string?> CompareAsync(IObjectStore store, IReadOnlyList<string> parts, Dictionary<string, long> expected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var seen = 0;
        var problem = await ReadPartsAsync(store, parts, (part, word, count) =>
        {
            seen++;
            return expected.TryGetValue(word, out var want) && want == count
                ? null
                : $"'{word}' has count {count} in '{part}', but the single-threaded count says {(expected.TryGetValue(word, out var w) ? w : 0)}";
        }, cancellationToken).ConfigureAwait(false);
        return problem ?? (seen == expected.Count ? null : $"the parts hold {seen} distinct words, the single-threaded count {expected.Count}");
    }

    /// <summary>
    /// Reads the parts, one at a time, and checks their form: UTF-8 <c>word\tcount</c> lines, each ending in a line
    /// break; each word a word as <see cref="Words"/> defines it (lower-cased), in ordinal order within its part and in
    /// one part only; each count at least 1. Calls <paramref name="onLine"/> with each line, which may return a problem.
    /// </summary>
    /// <returns>The first problem found, or <see langword="null"/>.</returns>
    public static async Task<string?> ReadPartsAsync(IObjectStore store, IReadOnlyList<string> parts, Func<string, string, long, string?> onLine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(onLine);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        foreach (var part in parts)
        {
            string text;
            try
            {
                text = strict.GetString(await store.ReadAllBytesAsync(part, cancellationToken).ConfigureAwait(false));
            }
            catch (DecoderFallbackException ex)
            {
                return $"'{part}' is not UTF-8: {ex.Message}";
            }

            if (text.Length > 0 && !text.EndsWith('\n'))
            {
                return $"'{part}' does not end with a line break";
            }

            string? previous = null;
            var number = 0;
            foreach (var line in text.AsSpan().EnumerateLines())
            {
                number++;
                if (line.IsEmpty)
                {
                    // The end of the text (after its last line break), or an empty line.
                    continue;
                }

                var tab = line.IndexOf('\t');
                if (tab <= 0 || !long.TryParse(line[(tab + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
                {
                    return $"'{part}' line {number} is not word<TAB>count (a count of at least 1): '{line}'";
                }

                var word = line[..tab].ToString();
                if (!IsWord(word))
                {
                    return $"'{part}' line {number}: '{word}' is not a lower-cased word of letters and digits";
                }

                if (previous is not null && string.CompareOrdinal(previous, word) >= 0)
                {
                    return $"'{part}' is not in ordinal order: '{previous}' comes before '{word}' (line {number})";
                }

                if (!seen.Add(word))
                {
                    return $"'{word}' appears in more than one part ('{part}' line {number})";
                }

                if (onLine(part, word, count) is { } problem)
                {
                    return problem;
                }

                previous = word;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="text"/> is one word, as <see cref="Words.Split"/> would emit it.</summary>
    private static bool IsWord(string text)
    {
        var words = 0;
        var same = false;
        Words.Split(text, word =>
        {
            words++;
            same = word.SequenceEqual(text);
        });
        return words == 1 && same;
    }
}
