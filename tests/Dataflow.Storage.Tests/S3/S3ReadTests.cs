using System.Globalization;

namespace Dataflow.Storage.Tests.S3;

/// <summary>Reads against the real server: large ranges fetched as parallel chunks, exact bytes, ranges past the end.</summary>
public sealed class S3ReadTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int KiB = 1 << 10;
    private const int Chunk = 64 * KiB;
    private const int Threshold = 256 * KiB;

    [Fact]
    public async Task OpenRead_WholeObjectOverTheThreshold_FetchesChunksInParallelAndReturnsTheExactBytes()
    {
        var (store, recorder, content) = await ArrangeAsync("whole");
        await using var _ = store;

        Assert.Equal(content, await S3Test.ReadAllAsync(store, "object.bin", bufferSize: 10_007));

        // The length is unknown, so the first GET asks for the threshold's worth: it learns the size and its body is
        // read as the first range (no GET of the whole object, given up after its headers); then every later chunk
        // is fetched once, by range.
        var expected = Enumerable.Range(0, (content.Length - Threshold + Chunk - 1) / Chunk)
            .Select(i => Range(Threshold + (i * (long)Chunk), Math.Min(Chunk, content.Length - Threshold - (i * Chunk))))
            .Prepend(Range(0, Threshold));
        Assert.Equal(expected.Order(StringComparer.Ordinal), RangedGets(recorder).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(recorder.Of("GetObject"), c => c.Header("Range") is null);
        Assert.InRange(recorder.Peak("GetObject"), 1, 4); // the first body counts among MaxConcurrentReads
        Assert.Equal(0, store.RetriedRequests);
    }

    [Fact]
    public async Task OpenRead_OffsetRanges_ReturnTheExactBytes()
    {
        var (store, recorder, content) = await ArrangeAsync("ranges");
        await using var _ = store;
        var size = content.Length;

        (long Offset, long? Length, bool Parallel)[] cases =
        [
            (100_001, (1 << 20) + 3, true), // inside, across many chunks
            (0, size, true), // all of it, by length
            (size - 300_000, null, true), // to the end, over the threshold
            (Chunk - 1, Chunk + 2, false), // under the threshold: one GET across a chunk boundary
            (size - 1, 1, false), // the last byte
            (size - 5, null, false), // the tail
            (size, null, false), // at the end: empty
            (size, 0, false), // empty at the end
            (12_345, 0, false), // empty inside
        ];
        foreach (var (offset, length, parallel) in cases)
        {
            recorder.Clear();
            var expected = content.AsSpan((int)offset, (int)(length ?? size - offset)).ToArray();

            var actual = await S3Test.ReadAllAsync(store, "object.bin", offset, length, bufferSize: 4_099);

            Assert.True(expected.AsSpan().SequenceEqual(actual), $"bytes {offset} + {length?.ToString(CultureInfo.InvariantCulture) ?? "rest"} differ");
            Assert.True(parallel == RangedGets(recorder).Count > 1, $"bytes {offset} + {length} were{(parallel ? " not" : "")} read in parallel chunks");
        }
    }

    [Fact]
    public async Task OpenRead_RangePastTheEnd_ThrowsObjectStoreExceptionNamingTheKey()
    {
        var (store, _, content) = await ArrangeAsync("past-end");
        await using var __ = store;
        var size = content.Length;

        (long Offset, long? Length)[] cases =
        [
            (size - 10, 20), // a small range that runs off the end
            (0, size + 1), // a parallel read one byte too long
            (100, size), // a parallel read that runs off the end
            (size + 1, null), // starts past the end
            (size + 1, 5),
            (size + 1, 0), // empty, but past the end
        ];
        foreach (var (offset, length) in cases)
        {
            var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await S3Test.ReadAllAsync(store, "object.bin", offset, length));
            Assert.Equal("object.bin", ex.Key);
            Assert.Contains("'object.bin'", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OpenRead_MissingObjectWithParallelLength_ThrowsNotFound()
    {
        var store = bucket.Open(new S3Setup { ParallelReadThreshold = Threshold, ReadChunkSize = Chunk }, S3Bucket.NewPrefix("missing"));
        await using var _ = store;

        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await store.OpenReadAsync("nothing.bin", 0, 10 * Threshold));

        Assert.Equal("nothing.bin", ex.Key);
    }

    /// <summary>An object of a few MiB (and an odd tail) and a store that reads it in 64 KiB chunks from 256 KiB on.</summary>
    private async Task<(S3ObjectStore Store, S3Recorder Recorder, byte[] Content)> ArrangeAsync(string purpose)
    {
        var prefix = S3Bucket.NewPrefix(purpose);
        var content = S3Test.Bytes((3 << 20) + 777, seed: 51);
        var writer = bucket.Open(new S3Setup { PartSize = 16 << 20 }, prefix);
        await using (writer)
        {
            await writer.PutAsync("object.bin", content);
        }

        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { ParallelReadThreshold = Threshold, ReadChunkSize = Chunk, MaxConcurrentReads = 4, Recorder = recorder }, prefix);
        return (store, recorder, content);
    }

    private static List<string> RangedGets(S3Recorder recorder) =>
        [.. recorder.Of("GetObject").Select(c => c.Header("Range")).OfType<string>()];

    private static string Range(long offset, long length) => string.Create(CultureInfo.InvariantCulture, $"bytes={offset}-{offset + length - 1}");
}
