namespace Dataflow.Core.Tests.Records;

public sealed class SortedRunTests
{
    private sealed class Sum : ICombiner<long>
    {
        public long Combine(long first, long second) => first + second;
    }

    private static byte[] WriteRun(IEnumerable<(string Key, long Value)> records, bool async = false)
    {
        using var stream = new MemoryStream();
        var writer = new SortedRunWriter<string, long>(stream, RecordCodecs.Utf8String, RecordCodecs.Varint64);
        long expectedPosition = 0;
        foreach (var (key, value) in records)
        {
            if (async)
            {
                writer.WriteAsync(key, value, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
            else
            {
                writer.Write(key, value);
            }

            var keyBytes = System.Text.Encoding.UTF8.GetByteCount(key);
            expectedPosition += VarintLength((ulong)keyBytes) + keyBytes + 1 + ZigZagLength(value);
            Assert.Equal(expectedPosition, writer.Position);
        }

        writer.Flush();
        Assert.Equal(expectedPosition, stream.Length);
        return stream.ToArray();
    }

    private static int VarintLength(ulong value)
    {
        var n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    private static int ZigZagLength(long value) => VarintLength((ulong)((value << 1) ^ (value >> 63)));

    private static SortedRunReader<string, long> Reader(byte[] run, string name = "run", int bufferSize = 64 * 1024) =>
        new(new MemoryStream(run), RecordCodecs.Utf8String, RecordCodecs.Varint64, name, bufferSize);

    private static async Task<List<(string, long)>> ReadAllAsync(SortedRunReader<string, long> reader)
    {
        var records = new List<(string, long)>();
        await using (reader)
        {
            while (await reader.MoveNextAsync(CancellationToken.None))
            {
                records.Add((reader.Key, reader.Value));
            }
        }

        return records;
    }

    [Fact]
    public async Task RunWriterAndReader_Records_RoundTripInOrder()
    {
        (string, long)[] records = [("", 0), ("a", -1), ("a", long.MaxValue), ("b", long.MinValue), ("straße", 42), ("日本語", -300)];

        var run = WriteRun(records);

        Assert.Equal(records, await ReadAllAsync(Reader(run)));
    }

    [Fact]
    public async Task RunWriterAndReader_ManyRecordsAcrossFlushesAndTinyReadBuffer_RoundTrip()
    {
        // More than the writer's 64 KiB flush block, keys longer than the reader's buffer (which then grows).
        var random = new Random(3);
        var records = Enumerable.Range(0, 8000)
            .Select(i => (Key: new string((char)('a' + (i % 26)), random.Next(0, i % 1000 == 0 ? 5000 : 20)), Value: random.NextInt64(long.MinValue, long.MaxValue)))
            .ToArray();

        var sync = WriteRun(records);
        var async = WriteRun(records, async: true);

        Assert.Equal(sync, async);
        Assert.Equal(records, await ReadAllAsync(Reader(sync)));
        Assert.Equal(records, await ReadAllAsync(Reader(sync, bufferSize: 16)));
    }

    [Fact]
    public async Task RunReader_EmptyRun_HasNoRecords()
    {
        Assert.Empty(await ReadAllAsync(Reader([])));
    }

    [Fact]
    public async Task RunReader_TruncatedRun_ThrowsInvalidDataNamingTheRun()
    {
        var run = WriteRun([("alpha", 1), ("beta", 2)]);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(Reader(run[..^1], "spill-7")));

        Assert.Contains("spill-7", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunMerger_SeveralSortedRunsWithDuplicateKeys_MergesInKeyOrderGroupingValues()
    {
        var runs = new[]
        {
            WriteRun([("apple", 1), ("cherry", 2), ("cherry", 3), ("fig", 4)]),
            WriteRun([]),
            WriteRun([("banana", 10), ("cherry", 20), ("date", 30)]),
            WriteRun([("apple", 100), ("date", 200), ("zucchini", 300)]),
        };

        var merged = new List<(string Key, long[] Values)>();
        await using (var merger = new SortedRunMerger<string, long>(runs.Select((r, i) => Reader(r, $"run {i}")).ToList(), StringComparer.Ordinal, combiner: null))
        {
            while (await merger.MoveNextAsync(CancellationToken.None))
            {
                merged.Add((merger.Key, [.. merger.Values]));
            }
        }

        // Equal keys group their values in run order (ties break on the run's index), duplicates within a run kept.
        Assert.Equal(["apple", "banana", "cherry", "date", "fig", "zucchini"], merged.Select(m => m.Key));
        Assert.Equal([1, 100], merged[0].Values);
        Assert.Equal([10], merged[1].Values);
        Assert.Equal([2, 3, 20], merged[2].Values);
        Assert.Equal([30, 200], merged[3].Values);
        Assert.Equal([4], merged[4].Values);
        Assert.Equal([300], merged[5].Values);
    }

    [Fact]
    public async Task RunMerger_WithCombiner_FoldsEachKeyIntoOneValue()
    {
        var runs = new[]
        {
            WriteRun([("a", 1), ("a", 2), ("c", 5)]),
            WriteRun([("a", 4), ("b", 7)]),
            WriteRun([("b", 1), ("c", 1), ("c", 1)]),
        };

        var merged = new List<(string, long)>();
        await using (var merger = new SortedRunMerger<string, long>(runs.Select(r => Reader(r)).ToList(), StringComparer.Ordinal, new Sum()))
        {
            while (await merger.MoveNextAsync(CancellationToken.None))
            {
                merged.Add((merger.Key, Assert.Single(merger.Values)));
            }
        }

        Assert.Equal([("a", 7L), ("b", 8L), ("c", 7L)], merged);
    }

    [Fact]
    public async Task RunMerger_RandomRuns_EqualsSortOfAllRecords()
    {
        var random = new Random(11);
        var all = new List<(string Key, long Value)>();
        var runs = new List<byte[]>();
        for (var r = 0; r < 9; r++)
        {
            var records = Enumerable.Range(0, random.Next(0, 500))
                .Select(_ => (Key: "k" + random.Next(0, 300).ToString("D3", System.Globalization.CultureInfo.InvariantCulture), Value: (long)((r * 1000) + random.Next(1000))))
                .OrderBy(x => x.Key, StringComparer.Ordinal)
                .ToArray();
            all.AddRange(records);
            runs.Add(WriteRun(records));
        }

        var merged = new List<(string, long)>();
        await using (var merger = new SortedRunMerger<string, long>(runs.Select(r => Reader(r)).ToList(), StringComparer.Ordinal, combiner: null))
        {
            while (await merger.MoveNextAsync(CancellationToken.None))
            {
                merged.AddRange(merger.Values.Select(v => (merger.Key, v)));
            }
        }

        // A stable sort by key keeps run order among equal keys, as the merge does (values encode their run).
        Assert.Equal(all.OrderBy(x => x.Key, StringComparer.Ordinal).ThenBy(x => x.Value / 1000), merged);
    }
}
