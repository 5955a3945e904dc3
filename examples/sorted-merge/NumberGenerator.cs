using System.Globalization;
using System.Text;
using Dataflow.Storage;

namespace Dataflow.Examples.SortedMerge;

/// <summary>
/// Creates reproducible inputs: <c>count</c> objects of sorted 64-bit integers, one per line, between -10^12 and
/// 10^12; every seventh object (0, 7, 14, …) is empty, the others hold between half and one and a half times the
/// mean count. Object i depends only on (seed, i).
/// </summary>
public static class NumberGenerator
{
    /// <summary>The largest magnitude of a created number.</summary>
    public const long Range = 1_000_000_000_000;

    /// <summary>The key of input <paramref name="index"/> of <paramref name="count"/>, zero-padded so that key order is numeric order.</summary>
    public static string KeyOf(string prefix, int index, int count)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var digits = Math.Max(3, (count - 1).ToString(CultureInfo.InvariantCulture).Length);
        return prefix + index.ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + ".txt";
    }

    /// <summary>The numbers of input <paramref name="index"/>, sorted.</summary>
    public static long[] Numbers(int index, int mean, int seed)
    {
        if (index % 7 == 0)
        {
            return [];
        }

        var random = new Random(unchecked((seed * 1_000_003) + index));
        var numbers = new long[random.Next(mean / 2, (mean * 3 / 2) + 1)];
        for (var i = 0; i < numbers.Length; i++)
        {
            numbers[i] = random.NextInt64(-Range, Range + 1);
        }

        Array.Sort(numbers);
        return numbers;
    }

    /// <summary>Writes the inputs, <paramref name="parallelism"/> at a time.</summary>
    public static async Task WriteAsync(IObjectStore store, string prefix, int count, int mean, int seed, int parallelism, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        await Parallel.ForEachAsync(
            Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                var text = new StringBuilder();
                foreach (var number in Numbers(index, mean, seed))
                {
                    text.Append(number.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }

                await store.PutAsync(KeyOf(prefix, index, count), Encoding.UTF8.GetBytes(text.ToString()), token).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }
}
