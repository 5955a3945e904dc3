using System.Text;
using BenchmarkDotNet.Attributes;

namespace Dataflow.Benchmarks;

/// <summary>
/// Encoding and decoding <see cref="Records"/> (string key, long value) pairs, round trip, in memory: the sorted-run
/// format of map and reduce tasks (<c>SortedRunWriter</c>/<c>SortedRunReader</c> with the built-in
/// <see cref="RecordCodecs.Utf8String"/> and <see cref="RecordCodecs.Varint64"/> codecs: varint length, UTF-8 key,
/// varint length, zig-zag varint value) against the baseline of <see cref="BinaryWriter"/>/<see cref="BinaryReader"/>
/// writing <c>Write(string)</c> (7-bit length prefix, UTF-8) and <c>Write7BitEncodedInt64</c>, then reading them back.
/// </summary>
/// <remarks>
/// The baseline is the honest simple alternative: the same framing (a varint length before UTF-8 bytes, a varint
/// value) written by the framework's own binary writer, so the difference is the codec abstraction
/// (<see cref="RecordCodec{T}"/> through an <c>IBufferWriter</c>, a length frame around the value too) and the
/// run reader's buffering. Both write into a reused <see cref="MemoryStream"/>, both decode every key into a new string
/// (the allocation that dominates), and both fold keys and values into a checksum compared in the setup. The keys
/// are word-like (3–12 lower-case ASCII letters), the values small counts. Records and bytes per operation are
/// printed by the setup (in the log), so that throughput can be computed from the mean.
/// </remarks>
[MemoryDiagnoser]
public class RecordCodecBenchmarks
{
    private string[] _keys = null!;
    private long[] _values = null!;
    private MemoryStream _buffer = null!;

    /// <summary>Records per operation.</summary>
    [Params(1_000_000)]
    public int Records { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        (_keys, _values) = RecordData.Pairs(Records, distinctKeys: Records, seed: 7);
        _buffer = new MemoryStream(Records * 16);
        var expected = Checksum(_keys, _values);
        var baseline = BinaryWriterReader();
        var baselineBytes = _buffer.Length;
        var runs = await RunWriterReader();
        if (baseline != expected || runs != expected)
        {
            throw new InvalidOperationException($"checksums differ: expected {expected}, BinaryWriter {baseline}, SortedRunWriter {runs}");
        }

        Console.WriteLine($"// {Records:N0} records per operation; BinaryWriter {baselineBytes:N0} bytes, SortedRunWriter {_buffer.Length:N0} bytes");
    }

    [Benchmark(Baseline = true, Description = "BinaryWriter + BinaryReader (string, 7-bit int64)")]
    public long BinaryWriterReader()
    {
        _buffer.SetLength(0);
        using (var writer = new BinaryWriter(_buffer, Encoding.UTF8, leaveOpen: true))
        {
            for (var i = 0; i < _keys.Length; i++)
            {
                writer.Write(_keys[i]);
                writer.Write7BitEncodedInt64(_values[i]);
            }
        }

        _buffer.Position = 0;
        long checksum = 0;
        using var reader = new BinaryReader(_buffer, Encoding.UTF8, leaveOpen: true);
        for (var i = 0; i < _keys.Length; i++)
        {
            var key = reader.ReadString();
            checksum = Fold(checksum, key, reader.Read7BitEncodedInt64());
        }

        return checksum;
    }

    [Benchmark(Description = "SortedRunWriter + SortedRunReader (RecordCodecs)")]
    public async Task<long> RunWriterReader()
    {
        _buffer.SetLength(0);
        var writer = new SortedRunWriter<string, long>(_buffer, RecordCodecs.Utf8String, RecordCodecs.Varint64);
        for (var i = 0; i < _keys.Length; i++)
        {
            await writer.WriteAsync(_keys[i], _values[i], CancellationToken.None);
        }

        await writer.FlushAsync(CancellationToken.None);
        long checksum = 0;
        var source = new MemoryStream(_buffer.GetBuffer(), 0, (int)_buffer.Length, writable: false);
        await using var reader = new SortedRunReader<string, long>(source, RecordCodecs.Utf8String, RecordCodecs.Varint64, "bench");
        while (await reader.MoveNextAsync(CancellationToken.None))
        {
            checksum = Fold(checksum, reader.Key, reader.Value);
        }

        return checksum;
    }

    private static long Checksum(string[] keys, long[] values)
    {
        long checksum = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            checksum = Fold(checksum, keys[i], values[i]);
        }

        return checksum;
    }

    private static long Fold(long checksum, string key, long value) => unchecked((checksum * 31) + key.Length + key[^1] + value);
}

/// <summary>Word-like keys and small values for the record benchmarks, the same for a given seed.</summary>
internal static class RecordData
{
    /// <summary><paramref name="count"/> pairs whose keys are drawn from <paramref name="distinctKeys"/> word-like strings.</summary>
    public static (string[] Keys, long[] Values) Pairs(int count, int distinctKeys, int seed)
    {
        var random = new Random(seed);
        var vocabulary = new string[distinctKeys];
        Span<char> word = stackalloc char[12];
        for (var i = 0; i < vocabulary.Length; i++)
        {
            var length = random.Next(3, 13);
            for (var c = 0; c < length; c++)
            {
                word[c] = (char)('a' + random.Next(26));
            }

            vocabulary[i] = new string(word[..length]);
        }

        var keys = new string[count];
        var values = new long[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = vocabulary[count == distinctKeys ? i : random.Next(distinctKeys)];
            values[i] = random.Next(1, 1000);
        }

        return (keys, values);
    }
}
