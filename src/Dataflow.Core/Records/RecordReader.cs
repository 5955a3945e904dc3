using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Dataflow.Core;

/// <summary>
/// Reads the fields of one encoded record in order, from the front: the counterpart of <see cref="RecordWriter"/>, for
/// codecs of composite values. Each read moves past what it read; a record that ends too soon, or holds more than
/// was read (<see cref="EnsureEnd"/>), throws <see cref="InvalidDataException"/> naming the byte.
/// </summary>
/// <example>
/// <code>
/// public override Stats Read(ReadOnlySpan&lt;byte&gt; bytes)
/// {
///     var reader = new RecordReader(bytes);
///     var stats = new Stats(reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadZigZag());
///     reader.EnsureEnd();
///     return stats;
/// }
/// </code>
/// </example>
public ref struct RecordReader
{
    private readonly ReadOnlySpan<byte> _bytes;
    private int _position;

    /// <summary>Starts reading <paramref name="bytes"/> (one record, as its codec's <see cref="RecordCodec{T}.Read"/> gets it) from its first byte.</summary>
    public RecordReader(ReadOnlySpan<byte> bytes)
    {
        _bytes = bytes;
        _position = 0;
    }

    /// <summary>Bytes read so far.</summary>
    public readonly int Position => _position;

    /// <summary>The bytes not read yet.</summary>
    public readonly ReadOnlySpan<byte> Remaining => _bytes[_position..];

    /// <summary>True when every byte has been read.</summary>
    public readonly bool IsAtEnd => _position == _bytes.Length;

    /// <summary>Reads an unsigned LEB128 varint (7 bits a byte, low bits first; see <see cref="RecordWriter.WriteVarint"/>).</summary>
    /// <exception cref="InvalidDataException">The record ends inside the varint, or it is longer than 10 bytes.</exception>
    public ulong ReadVarint()
    {
        var taken = RecordCodecs.ReadVarint(Remaining, out var value);
        if (taken == 0)
        {
            throw Truncated("a varint");
        }

        _position += taken;
        return value;
    }

    /// <summary>Reads a signed integer written as a zig-zag varint (<see cref="RecordWriter.WriteZigZag"/>, the encoding of <see cref="RecordCodecs.Varint64"/>).</summary>
    /// <exception cref="InvalidDataException">The record ends inside the varint.</exception>
    public long ReadZigZag() => DecodeZigZag(ReadVarint());

    /// <summary>Reads a 32-bit integer as 4 little-endian bytes.</summary>
    /// <exception cref="InvalidDataException">Fewer than 4 bytes are left.</exception>
    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4, "a 4-byte integer"));

    /// <summary>Reads a 64-bit integer as 8 little-endian bytes.</summary>
    /// <exception cref="InvalidDataException">Fewer than 8 bytes are left.</exception>
    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8, "an 8-byte integer"));

    /// <summary>Reads a double as 8 little-endian bytes (IEEE 754).</summary>
    /// <exception cref="InvalidDataException">Fewer than 8 bytes are left.</exception>
    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, "a double"));

    /// <summary>Reads a float as 4 little-endian bytes (IEEE 754).</summary>
    /// <exception cref="InvalidDataException">Fewer than 4 bytes are left.</exception>
    public float ReadSingle() => BinaryPrimitives.ReadSingleLittleEndian(Take(4, "a float"));

    /// <summary>Reads bytes written by <see cref="RecordWriter.WriteBytes"/>: a varint length, then that many bytes.</summary>
    /// <exception cref="InvalidDataException">The record ends before the bytes do.</exception>
    public ReadOnlySpan<byte> ReadBytes()
    {
        var start = _position;
        var length = ReadVarint();
        if (length > (ulong)(_bytes.Length - _position))
        {
            _position = start;
            throw Truncated(string.Create(CultureInfo.InvariantCulture, $"a field of {length} bytes"));
        }

        return Take((int)length, "a field");
    }

    /// <summary>Reads a string written by <see cref="RecordWriter.WriteString"/>: a varint length, then that many bytes of UTF-8.</summary>
    /// <exception cref="InvalidDataException">The record ends before the string does.</exception>
    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    /// <summary>Reads a field that <paramref name="codec"/> wrote with <see cref="RecordCodec{T}.WriteField"/> (<see cref="RecordWriter.Write{T}"/>).</summary>
    /// <exception cref="InvalidDataException">The record ends before the field does, or the field is not the codec's.</exception>
    public T Read<T>(RecordCodec<T> codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        return codec.ReadField(ref this);
    }

    /// <summary>Throws unless every byte of the record has been read: a codec's <see cref="RecordCodec{T}.Read"/> calls it last.</summary>
    /// <exception cref="InvalidDataException">Bytes are left over: the record is not of this codec.</exception>
    public readonly void EnsureEnd()
    {
        if (!IsAtEnd)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"a record of {_bytes.Length} bytes has {_bytes.Length - _position} left over after byte {_position}: it was written by another codec"));
        }
    }

    /// <summary>The signed integer of zig-zag value <paramref name="value"/> (0, 1, 2, 3, … are 0, -1, 1, -2, …).</summary>
    public static long DecodeZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (_bytes.Length - _position < count)
        {
            throw Truncated(what);
        }

        var taken = _bytes.Slice(_position, count);
        _position += count;
        return taken;
    }

    private readonly InvalidDataException Truncated(string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"a record of {_bytes.Length} bytes ends inside {what} that starts at byte {_position}"));
}
