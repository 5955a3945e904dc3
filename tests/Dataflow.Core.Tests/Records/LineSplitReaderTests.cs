using System.IO.Compression;
using System.Text;

namespace Dataflow.Core.Tests.Records;

/// <summary>The tests of reading the lines of input splits (plain, gzip, zstd).</summary>
/// <remarks>One concept, kept in one file.</remarks>
public sealed class LineSplitReaderTests
{
    private const string Key = "in/text.txt";

    private static async Task<List<(string Line, long Offset)>> ReadAsync(BytesInput input)
    {
        var lines = new List<(string, long)>();
        await LineSplitReader.ReadAsync(input, (line, offset) => lines.Add((line.ToString(), offset)), CancellationToken.None);
        return lines;
    }

    /// <summary>Reads the object as splits cut at <paramref name="cuts"/> (sorted, inside the object), split by split.</summary>
    private static async Task<List<(string Line, long Offset)>> ReadSplitsAsync(byte[] data, IEnumerable<long> cuts, string key = Key)
    {
        var bounds = cuts.Prepend(0).Append(data.Length).ToArray();
        var lines = new List<(string, long)>();
        for (var i = 0; i + 1 < bounds.Length; i++)
        {
            lines.AddRange(await ReadAsync(new BytesInput(key, data, bounds[i], bounds[i + 1] - bounds[i])));
        }

        return lines;
    }

    /// <summary>The lines of <paramref name="data"/> as a plain reading defines them: split on '\n', a trailing '\r' dropped, no empty line after a final '\n'.</summary>
    private static List<(string Line, long Offset)> ExpectedLines(byte[] data)
    {
        var lines = new List<(string, long)>();
        var start = 0;
        while (start < data.Length)
        {
            var newline = Array.IndexOf(data, (byte)'\n', start);
            var end = newline < 0 ? data.Length : newline;
            var length = end > start && data[end - 1] == '\r' ? end - start - 1 : end - start;
            lines.Add((Encoding.UTF8.GetString(data, start, length), start));
            start = end + 1;
        }

        return lines;
    }

    private static readonly string[] s_words = ["alpha", "β", "straße", "日本語", "x", "emoji😀", "tab\tin", "", "  spaced  "];

    private static byte[] RandomText(Random random, int lines, bool crlf)
    {
        var text = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            // Mostly short lines, some empty, a few long ones.
            var words = random.Next(10) == 0 ? 0 : random.Next(20) == 0 ? random.Next(100, 400) : random.Next(1, 8);
            for (var w = 0; w < words; w++)
            {
                text.Append(s_words[random.Next(s_words.Length)]).Append(' ');
            }

            text.Append(crlf && random.Next(2) == 0 ? "\r\n" : "\n");
        }

        if (random.Next(2) == 0)
        {
            text.Append("last line without a newline");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    [Fact]
    public async Task ReadAsync_RandomTextAndRandomSplits_EveryLineReadExactlyOnceInOrder()
    {
        var random = new Random(20261129);
        for (var round = 0; round < 300; round++)
        {
            var data = RandomText(random, random.Next(0, 120), crlf: round % 3 == 0);
            var expected = ExpectedLines(data);
            var cutCount = data.Length < 2 ? 0 : random.Next(0, Math.Min(30, data.Length));
            var cuts = new SortedSet<long>();
            while (cuts.Count < cutCount)
            {
                // Half the cuts at a line start (or just after one, or just before), half anywhere.
                var lineStart = expected.Count > 0 ? expected[random.Next(expected.Count)].Offset : 1;
                var cut = random.Next(2) == 0 ? lineStart + random.Next(-1, 2) : random.Next(1, data.Length);
                if (cut > 0 && cut < data.Length)
                {
                    cuts.Add(cut);
                }
            }

            var lines = await ReadSplitsAsync(data, cuts);

            Assert.True(expected.SequenceEqual(lines), $"round {round}: {data.Length} bytes cut at [{string.Join(",", cuts)}]: expected {expected.Count} lines, read {lines.Count}");
        }
    }

    [Fact]
    public async Task ReadAsync_EveryCutOfASmallText_EveryLineReadExactlyOnce()
    {
        var data = Encoding.UTF8.GetBytes("ab\n\ncd\r\nstraße\n\n\nx\nlast");
        var expected = ExpectedLines(data);

        // Every single cut point, and every pair of cut points.
        for (var a = 1; a < data.Length; a++)
        {
            Assert.Equal(expected, await ReadSplitsAsync(data, [a]));
            for (var b = a + 1; b < data.Length; b++)
            {
                Assert.Equal(expected, await ReadSplitsAsync(data, [a, b]));
            }
        }
    }

    [Fact]
    public async Task ReadAsync_OneByteSplits_EveryLineReadExactlyOnce()
    {
        var data = Encoding.UTF8.GetBytes("one\ntwo\r\n\nfour 日本\nfive");

        var lines = await ReadSplitsAsync(data, Enumerable.Range(1, data.Length - 1).Select(i => (long)i));

        Assert.Equal([("one", 0L), ("two", 4L), ("", 9L), ("four 日本", 10L), ("five", 22L)], lines);
    }

    [Fact]
    public async Task ReadAsync_LineCrossingTheBoundary_BelongsToTheSplitWhereItStarts()
    {
        var data = Encoding.UTF8.GetBytes("first line\nsecond line\nthird\n");

        // Cut in the middle of "second line" (it starts at 11).
        var before = await ReadAsync(new BytesInput(Key, data, 0, 15));
        var after = await ReadAsync(new BytesInput(Key, data, 15, data.Length - 15));

        Assert.Equal([("first line", 0L), ("second line", 11L)], before);
        Assert.Equal([("third", 23L)], after);
    }

    [Fact]
    public async Task ReadAsync_BoundaryExactlyAtALineStart_LineBelongsToTheLaterSplit()
    {
        var data = Encoding.UTF8.GetBytes("first line\nsecond line\nthird\n");

        var before = await ReadAsync(new BytesInput(Key, data, 0, 11));
        var after = await ReadAsync(new BytesInput(Key, data, 11, data.Length - 11));

        Assert.Equal([("first line", 0L)], before);
        Assert.Equal([("second line", 11L), ("third", 23L)], after);
    }

    [Fact]
    public async Task ReadAsync_BoundaryRightAfterTheLineStart_LineBelongsToTheEarlierSplit()
    {
        var data = Encoding.UTF8.GetBytes("first line\nsecond line\nthird\n");

        var before = await ReadAsync(new BytesInput(Key, data, 0, 12));
        var after = await ReadAsync(new BytesInput(Key, data, 12, data.Length - 12));

        Assert.Equal([("first line", 0L), ("second line", 11L)], before);
        Assert.Equal([("third", 23L)], after);
    }

    [Fact]
    public async Task ReadAsync_SplitInsideOneLongLine_ReadsNothing()
    {
        var data = Encoding.UTF8.GetBytes("a\n" + new string('x', 1000) + "\nb\n");

        Assert.Empty(await ReadAsync(new BytesInput(Key, data, 100, 200)));
        Assert.Equal([("b", 1003L)], await ReadAsync(new BytesInput(Key, data, 300, data.Length - 300)));
    }

    [Fact]
    public async Task ReadAsync_CrLf_LineBreakDroppedAndLoneCrKept()
    {
        var data = Encoding.UTF8.GetBytes("one\r\ntwo\rstill two\r\n\r\nlast\r");

        Assert.Equal([("one", 0L), ("two\rstill two", 5L), ("", 20L), ("last", 22L)], await ReadAsync(new BytesInput(Key, data)));
    }

    [Fact]
    public async Task ReadAsync_CrLfSplitBetweenCrAndLf_LineReadOnceWithoutCr()
    {
        var data = Encoding.UTF8.GetBytes("one\r\ntwo\r\n");

        // Cut between '\r' and '\n' of the first line, then right after the '\n'.
        Assert.Equal([("one", 0L), ("two", 5L)], await ReadSplitsAsync(data, [4]));
        Assert.Equal([("one", 0L), ("two", 5L)], await ReadSplitsAsync(data, [5]));
    }

    [Fact]
    public async Task ReadAsync_Utf8ByteOrderMark_NotPartOfTheFirstRecordOnly()
    {
        byte[] data = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("one\n"), 0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("two\n")];

        // The mark that starts the object is dropped (offsets stay those of the bytes); one further on is data.
        Assert.Equal([("one", 0L), ("\uFEFFtwo", 7L)], await ReadAsync(new BytesInput(Key, data)));
        Assert.Equal([("one", 0L), ("\uFEFFtwo", 7L)], await ReadSplitsAsync(data, [2]));
        Assert.Equal([("one", 0L), ("\uFEFFtwo", 7L)], await ReadSplitsAsync(data, [8]));
    }

    [Fact]
    public async Task ReadAsync_FinalLineWithoutNewline_IsRead()
    {
        var data = Encoding.UTF8.GetBytes("one\ntwo");

        Assert.Equal([("one", 0L), ("two", 4L)], await ReadAsync(new BytesInput(Key, data)));
        Assert.Equal([("one", 0L), ("two", 4L)], await ReadSplitsAsync(data, [5]));
    }

    [Fact]
    public async Task ReadAsync_TrailingNewline_NoEmptyLineAfterIt()
    {
        Assert.Equal([("one", 0L)], await ReadAsync(new BytesInput(Key, "one\n"u8.ToArray())));
        Assert.Equal([("one", 0L), ("", 4L)], await ReadAsync(new BytesInput(Key, "one\n\n"u8.ToArray())));
        Assert.Equal([("", 0L)], await ReadAsync(new BytesInput(Key, "\n"u8.ToArray())));
    }

    [Fact]
    public async Task ReadAsync_EmptyObject_NoLines()
    {
        var input = new BytesInput(Key, []);

        Assert.Empty(await ReadAsync(input));
        Assert.Equal(0, input.BytesOpened);
    }

    [Fact]
    public async Task ReadAsync_LinesLongerThanTheReadChunk_ReadWholeAcrossSplits()
    {
        // Lines of 100 KB and 300 KB: longer than the 64 KiB read chunk, and crossing split ends by far.
        var long1 = new string('a', 100_000);
        var long2 = string.Concat(Enumerable.Repeat("ß日", 100_000));
        var data = Encoding.UTF8.GetBytes($"short\n{long1}\n{long2}\nend\n");

        var lines = await ReadSplitsAsync(data, [3, 50_000, 150_000, 160_000]);

        Assert.Equal(ExpectedLines(data), lines);
        Assert.Equal(long2, lines[2].Line);
    }

    [Fact]
    public async Task ReadAsync_ShortLines_SplitReadsLittleBeyondItsEnd()
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 100_000).Select(i => $"line {i}\n")));
        var input = new BytesInput(Key, data, 200_000, 100_000);

        var lines = await ReadAsync(input);

        Assert.Equal(ExpectedLines(data).Where(l => l.Offset >= 200_000 && l.Offset < 300_000), lines);
        Assert.InRange(input.BytesOpened, 100_001, 100_001 + (64 * 1024));
    }

    public static TheoryData<string> CompressedKeys => new() { "in/data.gz", "in/DATA.GZ", "in/data.zst", "in/data.txt.Zst" };

    /// <summary>The bytes of <paramref name="data"/> compressed as <paramref name="key"/>'s extension says (gzip or zstd).</summary>
    internal static byte[] Compress(string key, byte[] data)
    {
        if (key.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            using var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(data);
            }

            return output.ToArray();
        }

        using var compressor = new ZstdSharp.Compressor(3);
        return compressor.Wrap(data).ToArray();
    }

    [Theory]
    [MemberData(nameof(CompressedKeys))]
    public async Task ReadAsync_CompressedObject_ReadWholeWithDecompressedOffsets(string key)
    {
        var data = RandomText(new Random(5), 3000, crlf: true);
        var compressed = Compress(key, data);

        var lines = await ReadAsync(new BytesInput(key, compressed));

        Assert.True(InputSplit.IsCompressed(key));
        Assert.Equal(ExpectedLines(data), lines);
    }

    [Theory]
    [MemberData(nameof(CompressedKeys))]
    public async Task ReadAsync_RangeOfACompressedObject_ThrowsNamingTheObject(string key)
    {
        var compressed = Compress(key, "a\nb\n"u8.ToArray());

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(new BytesInput(key, compressed, 1, compressed.Length - 1)));

        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_ConcatenatedGzipMembers_ReadsEveryMember()
    {
        var first = Compress("x.gz", "one\ntwo\n"u8.ToArray());
        var second = Compress("x.gz", "three\n"u8.ToArray());

        var lines = await ReadAsync(new BytesInput("in/x.gz", [.. first, .. second]));

        Assert.Equal(["one", "two", "three"], lines.Select(l => l.Line));
    }

    private static byte[] Gzip(string text, CompressionLevel level = CompressionLevel.Fastest) => Gzip(Encoding.UTF8.GetBytes(text), level);

    private static byte[] Gzip(byte[] data, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private static async Task<InvalidDataException> ReadFailsAsync(BytesInput input)
    {
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(input));
        Assert.Contains($"'{input.Split.Key}'", ex.Message, StringComparison.Ordinal);

        // The same bytes fail again: a task that meets them fails permanently, without retries.
        Assert.True(Job.Named("any").FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("out").IsPermanentFailure(new RecordProcessingException("map task 0/0", ex)), ex.ToString());
        return ex;
    }

    [Fact]
    public async Task ReadAsync_TruncatedGzip_FailsWhereverCutInsteadOfReadingLessData()
    {
        var data = RandomText(new Random(8), 100, crlf: false);
        var gz = Gzip(data);
        var expected = ExpectedLines(data);

        // Every cut in the header and near the end (the trailer), every 7th byte between.
        Assert.Equal(expected, await ReadAsync(new BytesInput("in/t.gz", gz)));
        for (var cut = 1; cut < gz.Length; cut += cut < 40 || cut > gz.Length - 40 ? 1 : 7)
        {
            await ReadFailsAsync(new BytesInput("in/t.gz", gz[..cut]));
        }
    }

    [Fact]
    public async Task ReadAsync_TruncatedLargeGzip_FailsNamingTheObject()
    {
        // Stored (not deflated) data, so that the object is large: the cuts fall far past the first read buffers.
        var data = RandomText(new Random(9), 20_000, crlf: false);
        var gz = Gzip(data, CompressionLevel.NoCompression);

        Assert.Equal(ExpectedLines(data), await ReadAsync(new BytesInput("in/t.gz", gz) { Chunky = 5000 }));
        foreach (var cut in new[] { gz.Length - 1, gz.Length - 4, gz.Length - 8, gz.Length - 9, gz.Length / 2, 70_000, 200_000 })
        {
            var ex = await ReadFailsAsync(new BytesInput("in/t.gz", gz[..cut]) { Chunky = 5000 });
            Assert.Contains("truncated or corrupt", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ReadAsync_GzipWithACorruptByte_Fails()
    {
        var data = RandomText(new Random(10), 2000, crlf: false);
        var gz = Gzip(data);
        var random = new Random(10);
        for (var i = 0; i < 20; i++)
        {
            var corrupt = gz.ToArray();
            corrupt[random.Next(10, corrupt.Length - 8)] ^= (byte)random.Next(1, 256);

            await ReadFailsAsync(new BytesInput("in/c.gz", corrupt));
        }
    }

    [Fact]
    public async Task ReadAsync_GzipWithTrailingGarbage_FailsNamingTheObject()
    {
        var ex = await ReadFailsAsync(new BytesInput("in/g.gz", [.. Gzip("one\n"), 0, 0, 0, 0]));

        Assert.Contains("after gzip member 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NotGzipAtAll_FailsNamingTheObject()
    {
        var ex = await ReadFailsAsync(new BytesInput("in/plain.gz", "just text\n"u8.ToArray()));

        Assert.Contains("does not start with a gzip header", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_EmptyGzipObject_NoLines()
    {
        Assert.Empty(await ReadAsync(new BytesInput("in/empty.gz", [])));
        Assert.Empty(await ReadAsync(new BytesInput("in/empty-member.gz", Gzip(""))));
    }

    [Fact]
    public async Task ReadAsync_ManyGzipMembers_EveryMemberReadInOrder()
    {
        // Empty members, identical members (the same trailer twice), members larger than the read buffers.
        var big = RandomText(new Random(11), 4000, crlf: false);
        Assert.True(big.Length > 256 * 1024, "a member larger than the reader's buffer");
        byte[][] members = [Gzip("a\n"), Gzip(""), Gzip("a\n"), Gzip("a\n"), Gzip(big, CompressionLevel.NoCompression), Gzip(""), Gzip(big), Gzip("last")];
        byte[] all = [.. members.SelectMany(m => m)];
        byte[] text = [.. "a\na\na\n"u8, .. big, .. big, .. "last"u8];

        Assert.Equal(ExpectedLines(text), await ReadAsync(new BytesInput("in/m.gz", all)));
        Assert.Equal(ExpectedLines(text), await ReadAsync(new BytesInput("in/m.gz", all) { Chunky = 37 }));
        await ReadFailsAsync(new BytesInput("in/m.gz", all[..^1]));
    }

    [Fact]
    public async Task ReadAsync_GzipHeaderWithOptionalFields_Read()
    {
        // FEXTRA, FNAME, FCOMMENT and FHCRC, as gzip(1) and others write them.
        var plain = Gzip("one\ntwo\n");
        byte[] extra = [6, 0, (byte)'A', (byte)'B', 2, 0, 1, 2];
        byte[] name = [.. "t.txt"u8, 0];
        byte[] comment = [.. "a comment"u8, 0];
        byte[] headerCrc = [0x12, 0x34];
        byte[] header = [.. plain[..3], 0x04 | 0x08 | 0x10 | 0x02, .. plain[4..10]];
        byte[] gz = [.. header, .. extra, .. name, .. comment, .. headerCrc, .. plain[10..]];

        Assert.Equal([("one", 0L), ("two", 4L)], await ReadAsync(new BytesInput("in/h.gz", gz)));
        await ReadFailsAsync(new BytesInput("in/h.gz", gz[..15]));
    }

    [Fact]
    public async Task ReadAsync_TruncatedOrCorruptZstd_FailsNamingTheObject()
    {
        var data = RandomText(new Random(12), 2000, crlf: false);
        var zst = Compress("x.zst", data);

        foreach (var cut in new[] { zst.Length - 1, zst.Length - 4, zst.Length / 2, 5 })
        {
            await ReadFailsAsync(new BytesInput("in/t.zst", zst[..cut]));
        }

        var corrupt = zst.ToArray();
        corrupt[zst.Length / 2] ^= 0x55;
        await ReadFailsAsync(new BytesInput("in/c.zst", corrupt));
    }

    [Theory]
    [InlineData("a.txt", false)]
    [InlineData("a.gzip", false)]
    [InlineData("a.gz.txt", false)]
    [InlineData("a.zstd", false)]
    [InlineData("gz", false)]
    [InlineData("a.gz", true)]
    [InlineData("dir/a.Gz", true)]
    [InlineData("a.zst", true)]
    [InlineData("a.ZST", true)]
    public void IsCompressed_ByExtension(string key, bool compressed)
    {
        Assert.Equal(compressed, InputSplit.IsCompressed(key));
    }
}
