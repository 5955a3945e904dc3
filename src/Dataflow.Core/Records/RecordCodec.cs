using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Dataflow.Core;

/// <summary>
/// Turns keys or values into bytes and back, for the sorted runs that map tasks write and reduce tasks read.
/// Built-in codecs: <see cref="RecordCodecs"/>; write your own for other types.
/// </summary>
/// <typeparam name="T">The type encoded.</typeparam>
public abstract class RecordCodec<T>
{
    /// <summary>Writes the bytes of <paramref name="value"/> (framing is added by the caller).</summary>
    public abstract void Write(T value, IBufferWriter<byte> output);

    /// <summary>Reads a value from exactly the bytes <see cref="Write"/> wrote.</summary>
    public abstract T Read(ReadOnlySpan<byte> bytes);

    /// <summary>About how many bytes of memory a value takes when buffered, for memory budgets. Default 16.</summary>
    public virtual int EstimateSize(T value) => 16;
}

/// <summary>The built-in codecs, and the default codec of a type.</summary>
public static class RecordCodecs
{
    /// <summary>Strings as UTF-8.</summary>
    public static RecordCodec<string> Utf8String { get; } = new StringCodec();

    /// <summary>64-bit integers as zig-zag varints (1 byte for small counts).</summary>
    public static RecordCodec<long> Varint64 { get; } = new Int64Codec();

    /// <summary>32-bit integers as zig-zag varints.</summary>
    public static RecordCodec<int> Varint32 { get; } = new Int32Codec();

    /// <summary>Doubles as 8 little-endian bytes.</summary>
    public static RecordCodec<double> Binary64 { get; } = new DoubleCodec();

    /// <summary>Byte arrays as they are.</summary>
    public static RecordCodec<byte[]> Bytes { get; } = new BytesCodec();

    /// <summary>The built-in codec of <typeparamref name="T"/>.</summary>
    /// <exception cref="NotSupportedException">There is none: give a codec of your own.</exception>
    public static RecordCodec<T> For<T>() =>
        (typeof(T) == typeof(string) ? Utf8String
        : typeof(T) == typeof(long) ? Varint64
        : typeof(T) == typeof(int) ? Varint32
        : typeof(T) == typeof(double) ? Binary64
        : typeof(T) == typeof(byte[]) ? (object)Bytes
        : null) as RecordCodec<T> ?? throw new NotSupportedException($"there is no built-in record codec for {typeof(T).Name}: give one in the job's codecs");

    internal static void WriteVarint(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        output.Advance(i);
    }

    /// <summary>Reads a varint; returns the bytes it took, or 0 when <paramref name="bytes"/> ends before it does.</summary>
    internal static int ReadVarint(ReadOnlySpan<byte> bytes, out ulong value)
    {
        value = 0;
        for (var i = 0; i < Math.Min(bytes.Length, 10); i++)
        {
            value |= (ulong)(bytes[i] & 0x7F) << (7 * i);
            if (bytes[i] < 0x80)
            {
                return i + 1;
            }
        }

        if (bytes.Length >= 10)
        {
            throw new InvalidDataException("a varint is longer than 10 bytes");
        }

        return 0;
    }

    private sealed class StringCodec : RecordCodec<string>
    {
        public override void Write(string value, IBufferWriter<byte> output)
        {
            var count = Encoding.UTF8.GetByteCount(value);
            var span = output.GetSpan(count);
            Encoding.UTF8.GetBytes(value, span);
            output.Advance(count);
        }

        public override string Read(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

        public override int EstimateSize(string value) => 24 + (2 * value.Length);
    }

    private sealed class Int64Codec : RecordCodec<long>
    {
        public override void Write(long value, IBufferWriter<byte> output) => WriteVarint(output, (ulong)((value << 1) ^ (value >> 63)));

        public override long Read(ReadOnlySpan<byte> bytes)
        {
            // Exactly one varint: no bytes at all (ReadVarint's "need more" 0) is no value either.
            if (bytes.IsEmpty || ReadVarint(bytes, out var zigzag) != bytes.Length)
            {
                throw new InvalidDataException("not a varint-encoded 64-bit integer");
            }

            return (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
        }

        public override int EstimateSize(long value) => 8;
    }

    private sealed class Int32Codec : RecordCodec<int>
    {
        public override void Write(int value, IBufferWriter<byte> output) => Varint64.Write(value, output);

        public override int Read(ReadOnlySpan<byte> bytes) => checked((int)Varint64.Read(bytes));

        public override int EstimateSize(int value) => 4;
    }

    private sealed class DoubleCodec : RecordCodec<double>
    {
        public override void Write(double value, IBufferWriter<byte> output)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(output.GetSpan(8), value);
            output.Advance(8);
        }

        public override double Read(ReadOnlySpan<byte> bytes) =>
            bytes.Length == 8 ? BinaryPrimitives.ReadDoubleLittleEndian(bytes) : throw new InvalidDataException("a double takes 8 bytes");

        public override int EstimateSize(double value) => 8;
    }

    private sealed class BytesCodec : RecordCodec<byte[]>
    {
        public override void Write(byte[] value, IBufferWriter<byte> output) => output.Write(value);

        public override byte[] Read(ReadOnlySpan<byte> bytes) => bytes.ToArray();

        public override int EstimateSize(byte[] value) => 24 + value.Length;
    }
}
