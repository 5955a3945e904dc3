using System.Buffers;
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

    /// <summary>
    /// Writes <paramref name="value"/> as one field of a composite record (<see cref="RecordWriter.Write{T}"/>,
    /// <see cref="RecordCodecs.Tuple{T1, T2}"/>), so that <see cref="ReadField"/> finds where it ends. By default a
    /// varint length, then the bytes of <see cref="Write"/>; a codec whose bytes end by themselves (a varint, a
    /// fixed-size number, a tuple of such) overrides both methods to leave the length out.
    /// </summary>
    public virtual void WriteField(T value, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);

        // The length comes first, so the bytes are made aside. A codec may be a field of a codec that is itself being
        // framed here (nesting): a buffer in use is taken out of its slot, and the inner field gets one of its own.
        var scratch = FieldScratch.Take();
        try
        {
            Write(value, scratch);
            new RecordWriter(output).WriteBytes(scratch.WrittenSpan);
        }
        finally
        {
            FieldScratch.Return(scratch);
        }
    }

    /// <summary>Reads a field written by <see cref="WriteField"/> from <paramref name="reader"/>, and moves past it.</summary>
    /// <exception cref="InvalidDataException">The record ends before the field does, or the field is not of this codec.</exception>
    public virtual T ReadField(ref RecordReader reader) => Read(reader.ReadBytes());
}

/// <summary>The scratch buffer of <see cref="RecordCodec{T}.WriteField"/>, one per thread.</summary>
internal static class FieldScratch
{
    private const int KeepAtMost = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? s_free;

    public static ArrayBufferWriter<byte> Take()
    {
        var buffer = s_free ?? new ArrayBufferWriter<byte>(256);
        s_free = null;
        return buffer;
    }

    public static void Return(ArrayBufferWriter<byte> buffer)
    {
        // A buffer grown by one huge field is not kept for the thread's life.
        if (buffer.Capacity <= KeepAtMost)
        {
            buffer.ResetWrittenCount();
            s_free = buffer;
        }
    }
}

/// <summary>
/// The built-in codecs, the default codec of a type, and codecs composed of others: tuples
/// (<see cref="Tuple{T1, T2, T3, T4}"/>) and values made of a tuple's parts (<see cref="Convert{TParts, T}"/>).
/// </summary>
public static partial class RecordCodecs
{
    /// <summary>Strings as UTF-8.</summary>
    public static RecordCodec<string> Utf8String { get; } = new StringCodec();

    /// <summary>64-bit integers as zig-zag varints (1 byte for small counts).</summary>
    public static RecordCodec<long> Varint64 { get; } = new Int64Codec();

    /// <summary>32-bit integers as zig-zag varints.</summary>
    public static RecordCodec<int> Varint32 { get; } = new Int32Codec();

    /// <summary>Doubles as 8 little-endian bytes.</summary>
    public static RecordCodec<double> Binary64 { get; } = new FixedSizeCodec<double>(8, "a double", static (w, v) => w.WriteDouble(v), static (ref r) => r.ReadDouble());

    /// <summary>Floats as 4 little-endian bytes.</summary>
    public static RecordCodec<float> Binary32 { get; } = new FixedSizeCodec<float>(4, "a float", static (w, v) => w.WriteSingle(v), static (ref r) => r.ReadSingle());

    /// <summary>64-bit integers as 8 little-endian bytes (for values that are seldom small, such as hashes).</summary>
    public static RecordCodec<long> Fixed64 { get; } = new FixedSizeCodec<long>(8, "a fixed 64-bit integer", static (w, v) => w.WriteInt64(v), static (ref r) => r.ReadInt64());

    /// <summary>32-bit integers as 4 little-endian bytes.</summary>
    public static RecordCodec<int> Fixed32 { get; } = new FixedSizeCodec<int>(4, "a fixed 32-bit integer", static (w, v) => w.WriteInt32(v), static (ref r) => r.ReadInt32());

    /// <summary>Byte arrays as they are.</summary>
    public static RecordCodec<byte[]> Bytes { get; } = new BytesCodec();

    /// <summary>The built-in codec of <typeparamref name="T"/>: string, long, int, double, float or byte[].</summary>
    /// <exception cref="NotSupportedException">There is none: compose one (<see cref="Tuple{T1, T2}"/>, <see cref="Convert{TParts, T}"/>) or write a <see cref="RecordCodec{T}"/>.</exception>
    public static RecordCodec<T> For<T>() =>
        BuiltIn<T>() ?? throw new NotSupportedException($"there is no built-in record codec for {TypeNames.Of(typeof(T))} (there are for string, long, int, double, float and byte[]): {HowToCompose(typeof(T))}");

    /// <summary>The built-in codec of <typeparamref name="T"/>, or <see langword="null"/>.</summary>
    internal static RecordCodec<T>? BuiltIn<T>() =>
        (typeof(T) == typeof(string) ? Utf8String
        : typeof(T) == typeof(long) ? Varint64
        : typeof(T) == typeof(int) ? Varint32
        : typeof(T) == typeof(double) ? Binary64
        : typeof(T) == typeof(float) ? Binary32
        : typeof(T) == typeof(byte[]) ? (object)Bytes
        : null) as RecordCodec<T>;

    /// <summary>How to make a codec for <paramref name="type"/>, for a message that names a missing one.</summary>
    internal static string HowToCompose(Type type) => TypeNames.IsValueTuple(type)
        ? $"compose one from the codecs of its items, e.g. RecordCodecs.Tuple(RecordCodecs.Binary64, RecordCodecs.Varint64) for (double, long)"
        : $"compose one from the built-in ones, e.g. RecordCodecs.Tuple(RecordCodecs.Binary64, RecordCodecs.Varint64).Convert(parts => new {TypeNames.Of(type)}(…), value => (…)), or write a RecordCodec<{TypeNames.Of(type)}>";

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

        public override void WriteField(string value, IBufferWriter<byte> output) => new RecordWriter(output).WriteString(value);

        public override string ReadField(ref RecordReader reader) => reader.ReadString();
    }

    private sealed class Int64Codec : RecordCodec<long>
    {
        public override void Write(long value, IBufferWriter<byte> output) => WriteVarint(output, RecordWriter.EncodeZigZag(value));

        public override long Read(ReadOnlySpan<byte> bytes)
        {
            // Exactly one varint: no bytes at all (ReadVarint's "need more" 0) is no value either.
            if (bytes.IsEmpty || ReadVarint(bytes, out var zigzag) != bytes.Length)
            {
                throw new InvalidDataException("not a varint-encoded 64-bit integer");
            }

            return RecordReader.DecodeZigZag(zigzag);
        }

        public override int EstimateSize(long value) => 8;

        public override void WriteField(long value, IBufferWriter<byte> output) => Write(value, output);

        public override long ReadField(ref RecordReader reader) => reader.ReadZigZag();
    }

    private sealed class Int32Codec : RecordCodec<int>
    {
        public override void Write(int value, IBufferWriter<byte> output) => Varint64.Write(value, output);

        public override int Read(ReadOnlySpan<byte> bytes) => checked((int)Varint64.Read(bytes));

        public override int EstimateSize(int value) => 4;

        public override void WriteField(int value, IBufferWriter<byte> output) => Write(value, output);

        public override int ReadField(ref RecordReader reader) => checked((int)reader.ReadZigZag());
    }

    /// <summary>A codec of a number of a fixed size: its bytes end by themselves, so as a field it needs no length.</summary>
    private sealed class FixedSizeCodec<T>(int size, string what, FieldWriter<T> write, FieldReader<T> read) : RecordCodec<T>
    {
        public override void Write(T value, IBufferWriter<byte> output) => WriteField(value, output);

        public override T Read(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length != size)
            {
                throw new InvalidDataException($"{what} takes {size} bytes, not {bytes.Length}");
            }

            var reader = new RecordReader(bytes);
            return ReadField(ref reader);
        }

        public override int EstimateSize(T value) => size;

        public override void WriteField(T value, IBufferWriter<byte> output) => write(new RecordWriter(output), value);

        public override T ReadField(ref RecordReader reader) => read(ref reader);
    }

    private delegate void FieldWriter<in T>(RecordWriter writer, T value);

    private delegate T FieldReader<out T>(ref RecordReader reader);

    private sealed class BytesCodec : RecordCodec<byte[]>
    {
        public override void Write(byte[] value, IBufferWriter<byte> output) => output.Write(value);

        public override byte[] Read(ReadOnlySpan<byte> bytes) => bytes.ToArray();

        public override int EstimateSize(byte[] value) => 24 + value.Length;

        public override void WriteField(byte[] value, IBufferWriter<byte> output) => new RecordWriter(output).WriteBytes(value);

        public override byte[] ReadField(ref RecordReader reader) => reader.ReadBytes().ToArray();
    }
}
