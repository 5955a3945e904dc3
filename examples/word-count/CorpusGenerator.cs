using System.Globalization;
using System.Text;
using Dataflow.Storage;

namespace Dataflow.Examples.WordCount;

/// <summary>
/// Writes a reproducible text corpus: lines of words drawn from a fixed vocabulary (with a Zipf-like skew, some
/// capitals, digits and non-ASCII letters) separated by spaces and punctuation. Object i depends only on (seed, i).
/// </summary>
public static class CorpusGenerator
{
    private static readonly string[] s_syllables =
    [
        "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "an", "el", "or", "us", "ba", "de", "fi", "go",
        "hé", "jö", "çu", "ñá", "ßo", "zi", "wa", "xe", "да", "ни", "ко", "λα", "μο", "数", "据", "流",
    ];

    private static readonly string[] s_separators = [" ", " ", " ", " ", ", ", ". ", "; ", " - ", "! ", "? ", " (", ") ", "\t", " 'n' ", "…"];

    /// <summary>The key of object <paramref name="index"/> of <paramref name="count"/>: zero-padded so that key order is numeric order.</summary>
    public static string KeyOf(string prefix, int index, int count) =>
        prefix + index.ToString("D" + Math.Max(3, (count - 1).ToString(CultureInfo.InvariantCulture).Length).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + ".txt";

    /// <summary>Writes <paramref name="count"/> objects of about <paramref name="size"/> bytes each, plus (with <paramref name="largeSize"/> > 0) one larger object, <paramref name="parallelism"/> at a time.</summary>
    public static async Task WriteAsync(IObjectStore store, string prefix, long size, int count, long largeSize, int seed, int parallelism, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var objects = Enumerable.Range(0, count).Select(i => (Key: KeyOf(prefix, i, count), Size: size, Seed: seed * 1_000_003 + i)).ToList();
        if (largeSize > 0)
        {
            objects.Add((prefix + "zz-large.txt", largeSize, seed * 1_000_003 - 1));
        }

        await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (item, token) =>
        {
            var writer = await store.OpenWriteAsync(item.Key, token).ConfigureAwait(false);
            await using (writer.ConfigureAwait(false))
            {
                var random = new Random(item.Seed);
                var text = new StringBuilder();
                long written = 0;
                while (written < item.Size)
                {
                    text.Clear();
                    while (text.Length < 64 * 1024)
                    {
                        AppendLine(random, text);
                    }

                    var bytes = Encoding.UTF8.GetBytes(text.ToString());
                    var n = (int)Math.Min(bytes.Length, item.Size - written);

                    // Cut only at a line end, so every object ends with a complete line.
                    var cut = n == bytes.Length ? n : Array.LastIndexOf(bytes, (byte)'\n', n - 1) + 1;
                    if (cut == 0)
                    {
                        cut = Array.IndexOf(bytes, (byte)'\n') + 1;
                    }

                    await writer.WriteAsync(bytes.AsMemory(0, cut), token).ConfigureAwait(false);
                    written += cut;
                }

                await writer.CompleteAsync(token).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    private static void AppendLine(Random random, StringBuilder text)
    {
        var words = random.Next(3, 18);
        for (var w = 0; w < words; w++)
        {
            // A skewed pick: low ranks are far more common, as in natural text.
            var rank = (int)Math.Pow(random.Next(1, 40_000), random.NextDouble());
            AppendWord(rank, random.Next(20) == 0, text);
            text.Append(w == words - 1 ? (random.Next(10) == 0 ? "\r\n" : "\n") : s_separators[random.Next(s_separators.Length)]);
        }
    }

    private static void AppendWord(int rank, bool capitalize, StringBuilder text)
    {
        var start = text.Length;
        var n = rank;
        do
        {
            text.Append(s_syllables[n % s_syllables.Length]);
            n /= s_syllables.Length;
        }
        while (n > 0);

        if (rank % 7 == 0)
        {
            text.Append(rank % 100);
        }

        if (capitalize)
        {
            text[start] = char.ToUpperInvariant(text[start]);
        }
    }
}
