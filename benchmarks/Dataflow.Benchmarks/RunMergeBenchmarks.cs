using BenchmarkDotNet.Attributes;

namespace Dataflow.Benchmarks;

/// <summary>
/// The reduce side's k-way merge: <see cref="Runs"/> sorted runs holding <see cref="Records"/> (string key, long value)
/// pairs in all, in the sorted-run format, merged into key order and grouped by key (<c>SortedRunMerger</c> over one
/// <c>SortedRunReader</c> per run, the reduce task's path, without a combiner) against the baseline of decoding every run
/// with the same reader into one array and sorting it with <see cref="Array.Sort{TKey, TValue}(TKey[], TValue[], IComparer{TKey})"/>,
/// then walking the groups; and a LINQ <c>OrderBy</c> of the same decoded records.
/// </summary>
/// <remarks>
/// The baseline is the honest alternative a reduce task without a merge would use: concatenate the runs and sort.
/// All rows start from the same encoded bytes in memory (no disk), decode every record with the same codecs, compare
/// keys with <see cref="StringComparer.Ordinal"/> (the default order of string keys) and fold every group (its key
/// and the sum of its values) into a checksum compared in the setup. The sorts hold every record in memory at once,
/// which the merge never does: that is its point, the time shows what it costs. Keys are drawn from a vocabulary
/// of <c>Records / 5</c> words, so groups span runs. Records and bytes per operation are printed by the setup.
/// </remarks>
[MemoryDiagnoser]
public class RunMergeBenchmarks
{
    private byte[][] _runs = null!;

    /// <summary>Records in all the runs together.</summary>
    [Params(1_000_000)]
    public int Records { get; set; }

    /// <summary>Sorted runs merged (k).</summary>
    [Params(8, 64)]
    public int Runs { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        var (keys, values) = RecordData.Pairs(Records, distinctKeys: Records / 5, seed: 11);
        _runs = new byte[Runs][];
        var perRun = Records / Runs;
        for (var r = 0; r < Runs; r++)
        {
            var first = r * perRun;
            var count = r == Runs - 1 ? Records - first : perRun;
            var runKeys = keys.AsSpan(first, count).ToArray();
            var runValues = values.AsSpan(first, count).ToArray();
            Array.Sort(runKeys, runValues, StringComparer.Ordinal);
            using var stream = new MemoryStream();
            var writer = new SortedRunWriter<string, long>(stream, RecordCodecs.Utf8String, RecordCodecs.Varint64);
            for (var i = 0; i < count; i++)
            {
                writer.Write(runKeys[i], runValues[i]);
            }

            writer.Flush();
            _runs[r] = stream.ToArray();
        }

        var sorted = await DecodeAndArraySort();
        var linq = await DecodeAndOrderBy();
        var merged = await KWayMerge();
        if (sorted != merged || linq != merged)
        {
            throw new InvalidOperationException($"checksums differ: Array.Sort {sorted}, OrderBy {linq}, merge {merged}");
        }

        Console.WriteLine($"// {Records:N0} records in {Runs} runs, {_runs.Sum(r => (long)r.Length):N0} bytes per operation");
    }

    [Benchmark(Baseline = true, Description = "decode all + Array.Sort (ordinal) + group")]
    public async Task<long> DecodeAndArraySort()
    {
        var (keys, values) = await DecodeAllAsync();
        Array.Sort(keys, values, StringComparer.Ordinal);
        long checksum = 0;
        for (var i = 0; i < keys.Length;)
        {
            var key = keys[i];
            long sum = 0;
            for (; i < keys.Length && string.Equals(keys[i], key, StringComparison.Ordinal); i++)
            {
                sum += values[i];
            }

            checksum = Fold(checksum, key, sum);
        }

        return checksum;
    }

    [Benchmark(Description = "decode all + LINQ OrderBy (ordinal) + GroupBy")]
    public async Task<long> DecodeAndOrderBy()
    {
        var (keys, values) = await DecodeAllAsync();
        long checksum = 0;
        var groups = Enumerable.Range(0, keys.Length)
            .OrderBy(i => keys[i], StringComparer.Ordinal)
            .GroupBy(i => keys[i], StringComparer.Ordinal);
        foreach (var group in groups)
        {
            checksum = Fold(checksum, group.Key, group.Sum(i => values[i]));
        }

        return checksum;
    }

    [Benchmark(Description = "SortedRunMerger k-way merge (streaming)")]
    public async Task<long> KWayMerge()
    {
        var readers = _runs.Select((run, r) => new SortedRunReader<string, long>(
            new MemoryStream(run, writable: false), RecordCodecs.Utf8String, RecordCodecs.Varint64, "run " + r)).ToList();
        await using var merger = new SortedRunMerger<string, long>(readers, StringComparer.Ordinal, combiner: null);
        long checksum = 0;
        while (await merger.MoveNextAsync(CancellationToken.None))
        {
            long sum = 0;
            foreach (var value in merger.Values)
            {
                sum += value;
            }

            checksum = Fold(checksum, merger.Key, sum);
        }

        return checksum;
    }

    private async Task<(string[] Keys, long[] Values)> DecodeAllAsync()
    {
        var keys = new string[Records];
        var values = new long[Records];
        var n = 0;
        for (var r = 0; r < _runs.Length; r++)
        {
            await using var reader = new SortedRunReader<string, long>(
                new MemoryStream(_runs[r], writable: false), RecordCodecs.Utf8String, RecordCodecs.Varint64, "run " + r);
            while (await reader.MoveNextAsync(CancellationToken.None))
            {
                keys[n] = reader.Key;
                values[n++] = reader.Value;
            }
        }

        return (keys, values);
    }

    private static long Fold(long checksum, string key, long sum) => unchecked((checksum * 31) + key.Length + key[^1] + sum);
}
