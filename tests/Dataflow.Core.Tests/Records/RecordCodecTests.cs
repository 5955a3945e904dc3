using System.Buffers;

namespace Dataflow.Core.Tests.Records;

public sealed class RecordCodecTests
{
    private static byte[] Encode<T>(RecordCodec<T> codec, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        codec.Write(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static T RoundTrip<T>(RecordCodec<T> codec, T value) => codec.Read(Encode(codec, value));

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("hello world")]
    [InlineData("straße")]
    [InlineData("日本語のテキスト")]
    [InlineData("emoji 😀 and tab\t and newline\n")]
    [InlineData("\0nul inside\0")]
    public void Utf8String_RoundTrip_SameStringAndUtf8Bytes(string value)
    {
        var bytes = Encode(RecordCodecs.Utf8String, value);

        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(value), bytes);
        Assert.Equal(value, RecordCodecs.Utf8String.Read(bytes));
    }

    [Fact]
    public void Utf8String_LongString_RoundTrips()
    {
        var value = string.Concat(Enumerable.Repeat("ü€x", 100_000));

        Assert.Equal(value, RoundTrip(RecordCodecs.Utf8String, value));
    }

    [Theory]
    [InlineData(0L, 1)]
    [InlineData(1L, 1)]
    [InlineData(-1L, 1)]
    [InlineData(63L, 1)]
    [InlineData(-64L, 1)]
    [InlineData(64L, 2)]
    [InlineData(-65L, 2)]
    [InlineData(300L, 2)]
    [InlineData(-123_456_789L, 4)]
    [InlineData(int.MaxValue, 5)]
    [InlineData(int.MinValue, 5)]
    [InlineData(long.MaxValue, 10)]
    [InlineData(long.MinValue, 10)]
    [InlineData(long.MaxValue - 1, 10)]
    [InlineData(long.MinValue + 1, 10)]
    public void Varint64_RoundTrip_SameValueInZigZagLength(long value, int expectedBytes)
    {
        var bytes = Encode(RecordCodecs.Varint64, value);

        Assert.Equal(expectedBytes, bytes.Length);
        Assert.Equal(value, RecordCodecs.Varint64.Read(bytes));
    }

    [Fact]
    public void Varint64_ZigZag_SmallNegativesStaySmall()
    {
        // Zig-zag: 0, -1, 1, -2, 2 encode as 0, 1, 2, 3, 4.
        Assert.Equal([0], Encode(RecordCodecs.Varint64, 0));
        Assert.Equal([1], Encode(RecordCodecs.Varint64, -1));
        Assert.Equal([2], Encode(RecordCodecs.Varint64, 1));
        Assert.Equal([3], Encode(RecordCodecs.Varint64, -2));
        Assert.Equal([0xAC, 0x02], Encode(RecordCodecs.Varint64, 150));
    }

    [Fact]
    public void Varint64_RandomValues_RoundTrip()
    {
        var random = new Random(42);
        for (var i = 0; i < 10_000; i++)
        {
            // Spread over every magnitude: shift a random 64-bit value right by a random amount.
            var value = random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(64);
            Assert.Equal(value, RoundTrip(RecordCodecs.Varint64, value));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(1_000_000)]
    [InlineData(-1_000_000)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void Varint32_RoundTrip_SameValue(int value)
    {
        Assert.Equal(value, RoundTrip(RecordCodecs.Varint32, value));
    }

    [Fact]
    public void Varint32_ValueOutOfIntRange_Throws()
    {
        var bytes = Encode(RecordCodecs.Varint64, (long)int.MaxValue + 1);

        Assert.Throws<OverflowException>(() => RecordCodecs.Varint32.Read(bytes));
    }

    [Fact]
    public void Varint64_TruncatedOrTrailingBytes_ThrowInvalidData()
    {
        var bytes = Encode(RecordCodecs.Varint64, long.MaxValue);

        Assert.Throws<InvalidDataException>(() => RecordCodecs.Varint64.Read(bytes.AsSpan(0, 5)));
        Assert.Throws<InvalidDataException>(() => RecordCodecs.Varint64.Read([.. bytes, 0]));
        Assert.Throws<InvalidDataException>(() => RecordCodecs.Varint64.Read([]));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(-3.25e-300)]
    [InlineData(double.MaxValue)]
    [InlineData(double.MinValue)]
    [InlineData(double.Epsilon)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(double.NaN)]
    public void Binary64_RoundTrip_SameBits(double value)
    {
        var bytes = Encode(RecordCodecs.Binary64, value);

        Assert.Equal(8, bytes.Length);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(RecordCodecs.Binary64.Read(bytes)));
    }

    [Fact]
    public void Binary64_NegativeZero_KeepsItsSign()
    {
        var read = RoundTrip(RecordCodecs.Binary64, -0.0);

        Assert.True(double.IsNegative(read) && read == 0);
    }

    [Fact]
    public void Binary64_WrongLength_ThrowsInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => RecordCodecs.Binary64.Read(new byte[7]));
    }

    [Fact]
    public void Bytes_RoundTrip_SameBytesAsACopy()
    {
        byte[] empty = [];
        byte[] some = [0, 1, 2, 0xFF, 0x80, 10, 13];

        Assert.Empty(RoundTrip(RecordCodecs.Bytes, empty));
        Assert.Equal(some, Encode(RecordCodecs.Bytes, some));
        var read = RoundTrip(RecordCodecs.Bytes, some);
        Assert.Equal(some, read);
        Assert.NotSame(some, read);
    }

    [Fact]
    public void For_BuiltInTypes_GivesTheBuiltInCodecs()
    {
        Assert.Same(RecordCodecs.Utf8String, RecordCodecs.For<string>());
        Assert.Same(RecordCodecs.Varint64, RecordCodecs.For<long>());
        Assert.Same(RecordCodecs.Varint32, RecordCodecs.For<int>());
        Assert.Same(RecordCodecs.Binary64, RecordCodecs.For<double>());
        Assert.Same(RecordCodecs.Bytes, RecordCodecs.For<byte[]>());
    }

    [Fact]
    public void For_UnsupportedType_ThrowsNotSupportedNamingIt()
    {
        var ex = Assert.Throws<NotSupportedException>(() => RecordCodecs.For<Guid>());

        Assert.Contains("Guid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Varint_FramingHelpers_RoundTripAndReportIncompleteInput()
    {
        foreach (var value in new ulong[] { 0, 1, 127, 128, 16_383, 16_384, uint.MaxValue, ulong.MaxValue })
        {
            var buffer = new ArrayBufferWriter<byte>();
            RecordCodecs.WriteVarint(buffer, value);

            Assert.Equal(buffer.WrittenCount, RecordCodecs.ReadVarint(buffer.WrittenSpan, out var read));
            Assert.Equal(value, read);

            // One byte short: not an error, just "need more bytes".
            Assert.Equal(0, RecordCodecs.ReadVarint(buffer.WrittenSpan[..^1], out _));
        }

        // Eleven continuation bytes is no varint at all.
        Assert.Throws<InvalidDataException>(() => RecordCodecs.ReadVarint(Enumerable.Repeat((byte)0x80, 11).ToArray(), out _));
    }
}
