using System.Buffers;
using System.Globalization;
using Dataflow.Storage;

namespace Dataflow.Examples.MergeFiles;

/// <summary>Creates reproducible inputs: <c>count</c> objects of random letters A–Z, named so that key order is numeric order.</summary>
public static class InputGenerator
{
    /// <summary>The key of input <paramref name="index"/> of <paramref name="count"/>: zero-padded so that key order equals numeric order (<c>input/000.txt</c> … <c>input/511.txt</c>).</summary>
    public static string KeyOf(string prefix, int index, int count)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var digits = Math.Max(3, (count - 1).ToString(CultureInfo.InvariantCulture).Length);
        return prefix + index.ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + ".txt";
    }

    /// <summary>Writes the inputs, <paramref name="parallelism"/> at a time. Object i depends only on (seed, i), so the result does not depend on the order of writes.</summary>
    public static async Task WriteAsync(IObjectStore store, string prefix, int count, long size, int seed, int parallelism, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        await Parallel.ForEachAsync(
            Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                var writer = await store.OpenWriteAsync(KeyOf(prefix, index, count), token).ConfigureAwait(false);
                await using (writer.ConfigureAwait(false))
                {
                    var random = new Random(unchecked((seed * 1_000_003) + index));
                    var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, 1 << 20));
                    try
                    {
                        for (var left = size; left > 0;)
                        {
                            var chunk = buffer.AsMemory(0, (int)Math.Min(left, buffer.Length));
                            FillLetters(random, chunk.Span);
                            await writer.WriteAsync(chunk, token).ConfigureAwait(false);
                            left -= chunk.Length;
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }

                    await writer.CompleteAsync(token).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
    }

    private static void FillLetters(Random random, Span<byte> span)
    {
        if (span.Length == 1)
        {
            span[0] = (byte)('A' + random.Next(26));
            return;
        }

        random.NextBytes(span);
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (byte)('A' + (span[i] % 26));
        }
    }
}
