using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Dataflow.Core;

/// <summary>
/// Writes the fields of one record in order: the building blocks of codecs of composite values (varints, zig-zag
/// varints, fixed-size numbers, length-prefixed strings and bytes, and fields of other codecs), read back in the same
/// order with <see cref="RecordReader"/>. Most composite values need none of this: see
/// <see cref="RecordCodecs.Tuple{T1, T2, T3, T4}"/> and <see cref="RecordCodecs.Convert{TParts, T}"/>.
/// </summary>
/// <example>
/// <code>
/// public override void Write(Stats value, IBufferWriter&lt;byte&gt; output)
/// {
///     var writer = new RecordWriter(output);
///     writer.WriteDouble(value.Min);
///     writer.WriteDouble(value.Max);
///     writer.WriteDouble(value.Sum);
///     writer.WriteZigZag(value.Count);
/// }
/// </code>
/// </example>
public readonly ref struct RecordWriter
{
    private readonly IBufferWriter<byte> _output;

    /// <summary>Writes to <paramref name="output"/> (what a codec's <see cref="RecordCodec{T}.Write"/> gets).</summary>
    public RecordWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    /// <summary>Writes an unsigned LEB128 varint: 7 bits a byte, low bits first, the high bit set on all but the last byte (1 byte below 128, at most 10).</summary>
    public void WriteVarint(ulong value) => RecordCodecs.WriteVarint(_output, value);

    /// <summary>Writes a signed integer as a zig-zag varint, so that small negative numbers stay short (the encoding of <see cref="RecordCodecs.Varint64"/>).</summary>
    public void WriteZigZag(long value) => WriteVarint(EncodeZigZag(value));

    /// <summary>Writes a 32-bit integer as 4 little-endian bytes.</summary>
    public void WriteInt32(int value) => WriteFixed(4, value, BinaryPrimitives.WriteInt32LittleEndian);

    /// <summary>Writes a 64-bit integer as 8 little-endian bytes.</summary>
    public void WriteInt64(long value) => WriteFixed(8, value, BinaryPrimitives.WriteInt64LittleEndian);

    /// <summary>Writes a double as 8 little-endian bytes (IEEE 754), exactly: NaN, infinities and -0 included.</summary>
    public void WriteDouble(double value) => WriteFixed(8, value, BinaryPrimitives.WriteDoubleLittleEndian);

    /// <summary>Writes a float as 4 little-endian bytes (IEEE 754).</summary>
    public void WriteSingle(float value) => WriteFixed(4, value, BinaryPrimitives.WriteSingleLittleEndian);

    /// <summary>Writes <paramref name="value"/> as a varint length, then the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteVarint((ulong)value.Length);
        _output.Write(value);
    }

    /// <summary>Writes <paramref name="value"/> as a varint length, then its UTF-8 bytes.</summary>
    public void WriteString(ReadOnlySpan<char> value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        WriteVarint((ulong)count);
        var span = _output.GetSpan(count);
        Encoding.UTF8.GetBytes(value, span);
        _output.Advance(count);
    }

    /// <summary>
    /// Writes <paramref name="value"/> with <paramref name="codec"/> as one field of this record
    /// (<see cref="RecordCodec{T}.WriteField"/>): read it back with <see cref="RecordReader.Read{T}"/> and the same codec.
    /// </summary>
    public void Write<T>(RecordCodec<T> codec, T value)
    {
        ArgumentNullException.ThrowIfNull(codec);
        codec.WriteField(value, _output);
    }

    private void WriteFixed<T>(int size, T value, SpanWriter<T> write)
    {
        write(_output.GetSpan(size), value);
        _output.Advance(size);
    }

    private delegate void SpanWriter<in T>(Span<byte> destination, T value);

    /// <summary>The zig-zag value of <paramref name="value"/>: 0, -1, 1, -2, … become 0, 1, 2, 3, ….</summary>
    public static ulong EncodeZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));
}
