using System.Buffers;
using System.Globalization;

namespace Dataflow.Core.Tests.Records;

/// <summary>Codecs from parts: the public writer and reader of fields, tuples of codecs, and values made of a tuple's parts.</summary>
public sealed class RecordCodecCompositionTests
{
    private readonly record struct Stats(double Min, double Max, double Sum, long Count);

    private static byte[] Encode<T>(RecordCodec<T> codec, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        codec.Write(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A codec of its own that overrides neither field method: as a field it takes a length.</summary>
    private sealed class UpperCodec : RecordCodec<string>
    {
        public override void Write(string value, IBufferWriter<byte> output) => RecordCodecs.Utf8String.Write(value.ToUpperInvariant(), output);

        public override string Read(ReadOnlySpan<byte> bytes) => RecordCodecs.Utf8String.Read(bytes);
    }

    [Fact]
    public void RecordWriter_EveryPart_ReadsBackInOrderWithNothingLeft()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RecordWriter(buffer);
        writer.WriteVarint(300);
        writer.WriteZigZag(-3);
        writer.WriteInt32(-7);
        writer.WriteInt64(long.MinValue);
        writer.WriteDouble(-0.0);
        writer.WriteSingle(1.5f);
        writer.WriteString("straße");
        writer.WriteBytes([1, 2, 3]);
        writer.Write(RecordCodecs.Varint64, 150L);
        writer.Write(new UpperCodec(), "field");

        var reader = new RecordReader(buffer.WrittenSpan);

        Assert.Equal(300UL, reader.ReadVarint());
        Assert.Equal(-3L, reader.ReadZigZag());
        Assert.Equal(-7, reader.ReadInt32());
        Assert.Equal(long.MinValue, reader.ReadInt64());
        Assert.True(double.IsNegative(reader.ReadDouble()));
        Assert.Equal(1.5f, reader.ReadSingle());
        Assert.Equal("straße", reader.ReadString());
        Assert.Equal([1, 2, 3], reader.ReadBytes().ToArray());
        Assert.Equal(150L, reader.Read(RecordCodecs.Varint64));
        Assert.Equal("FIELD", reader.Read(new UpperCodec()));
        Assert.True(reader.IsAtEnd);
        reader.EnsureEnd();
    }

    [Fact]
    public void RecordWriter_VarintsAndZigZag_AreTheEncodingOfTheBuiltInCodecs()
    {
        var buffer = new ArrayBufferWriter<byte>();
        new RecordWriter(buffer).WriteZigZag(150);

        Assert.Equal(Encode(RecordCodecs.Varint64, 150), buffer.WrittenSpan.ToArray());
        Assert.Equal([0xAC, 0x02], buffer.WrittenSpan.ToArray());
        Assert.Equal(3UL, RecordWriter.EncodeZigZag(-2));
        Assert.Equal(-2L, RecordReader.DecodeZigZag(3));
    }

    [Fact]
    public void RecordReader_RecordEndsTooSoon_ThrowsNamingWhatAndWhere()
    {
        static string Error(Func<object> read) => Assert.Throws<InvalidDataException>(read).Message;

        Assert.Contains("a record of 1 bytes ends inside a varint that starts at byte 0", Error(() => new RecordReader([0x80]).ReadVarint()), StringComparison.Ordinal);
        Assert.Contains("ends inside a field of 5 bytes that starts at byte 0", Error(() => new RecordReader([5, 1, 2]).ReadBytes().Length), StringComparison.Ordinal);
        Assert.Contains("ends inside a double that starts at byte 1", Error(() =>
        {
            var reader = new RecordReader([9, 1, 2, 3]);
            reader.ReadVarint();
            return reader.ReadDouble();
        }), StringComparison.Ordinal);
    }

    [Fact]
    public void Varint64_AsAField_ReadsOneVarintAndMovesOn()
    {
        // The built-in codec's Read takes exactly one varint; as a field it reads one and leaves the rest.
        var bytes = Encode(RecordCodecs.Tuple(RecordCodecs.Varint64, RecordCodecs.Varint64), (-1L, 300L));

        Assert.Equal([1, 0xD8, 0x04], bytes);
        Assert.Equal((-1L, 300L), RecordCodecs.Tuple(RecordCodecs.Varint64, RecordCodecs.Varint64).Read(bytes));
        Assert.Throws<InvalidDataException>(() => RecordCodecs.Varint64.Read(bytes));
    }

    [Fact]
    public void Tuple4_ConvertedToAStruct_RoundTripsInTheBytesOfItsParts()
    {
        var codec = RecordCodecs.Tuple(RecordCodecs.Binary64, RecordCodecs.Binary64, RecordCodecs.Binary64, RecordCodecs.Varint64)
            .Convert(p => new Stats(p.Item1, p.Item2, p.Item3, p.Item4), s => (s.Min, s.Max, s.Sum, s.Count));
        var stats = new Stats(-12.5, 40.25, 1234.5, 63);

        var bytes = Encode(codec, stats);

        Assert.Equal(8 + 8 + 8 + 1, bytes.Length); // numbers need no lengths
        Assert.Equal(stats, codec.Read(bytes));
        Assert.Equal(8 + 8 + 8 + 8, codec.EstimateSize(stats));
    }

    [Fact]
    public void Tuple_OfStringsCodecsOfYourOwnAndTuples_RoundTrips()
    {
        var inner = RecordCodecs.Tuple(RecordCodecs.Utf8String, new UpperCodec());
        var codec = RecordCodecs.Tuple(inner, RecordCodecs.Bytes, RecordCodecs.Fixed32);
        var value = (("ünï", "code"), new byte[] { 0, 255 }, -9);

        var read = codec.Read(Encode(codec, value));

        Assert.Equal(("ünï", "CODE"), read.Item1);
        Assert.Equal(value.Item2, read.Item2);
        Assert.Equal(-9, read.Item3);
    }

    [Fact]
    public void Tuple_BytesOfAnotherCodec_ThrowsRatherThanReadingGarbage()
    {
        var pair = RecordCodecs.Tuple(RecordCodecs.Binary64, RecordCodecs.Varint32);

        var leftOver = Assert.Throws<InvalidDataException>(() => pair.Read(Encode(RecordCodecs.Tuple(RecordCodecs.Binary64, RecordCodecs.Varint32, RecordCodecs.Varint32), (1.0, 2, 3))));
        Assert.Contains("left over after byte 9", leftOver.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => pair.Read([1, 2, 3]));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(-1.25f)]
    public void FixedSizeCodecs_RoundTripAndRefuseOtherSizes(float value)
    {
        Assert.Equal(value, RecordCodecs.Binary32.Read(Encode(RecordCodecs.Binary32, value)));
        Assert.Equal(long.MinValue + 3, RecordCodecs.Fixed64.Read(Encode(RecordCodecs.Fixed64, long.MinValue + 3)));
        Assert.Equal(8, Encode(RecordCodecs.Fixed64, 1).Length);
        Assert.Equal(4, Encode(RecordCodecs.Fixed32, 1).Length);
        Assert.Same(RecordCodecs.Binary32, RecordCodecs.For<float>());
        var ex = Assert.Throws<InvalidDataException>(() => RecordCodecs.Fixed32.Read([1, 2, 3, 4, 5]));
        Assert.Contains("takes 4 bytes, not 5", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void For_TypeWithoutABuiltInCodec_SaysHowToComposeOne()
    {
        var ex = Assert.Throws<NotSupportedException>(() => RecordCodecs.For<Stats>());

        Assert.Contains("there is no built-in record codec for Stats", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RecordCodecs.Tuple(", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RecordCodec<Stats>", ex.Message, StringComparison.Ordinal);
        Assert.Contains(
            "there is no built-in record codec for (double, long) (there are for string, long, int, double, float and byte[]): compose one from the codecs of its items",
            Assert.Throws<NotSupportedException>(() => RecordCodecs.For<(double, long)>()).Message,
            StringComparison.Ordinal);
        Assert.Contains("for List<string>[]", Assert.Throws<NotSupportedException>(() => RecordCodecs.For<List<string>[]>()).Message, StringComparison.Ordinal);
    }

    private sealed class StatsReducer : Reducer<string, Stats, (double Min, double Max, double Mean)>
    {
        public override (double Min, double Max, double Mean) Reduce(string key, IReadOnlyList<Stats> values) => (values[0].Min, values[0].Max, values[0].Sum / values[0].Count);
    }

    [Fact]
    public void Format_TupleResult_WritesItsItemsSeparatedByTabsInTheInvariantCulture()
    {
        var previous = CultureInfo.CurrentCulture;
        // A culture that writes decimal commas (cultures are not available here, so one made for the test).
        var commas = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        commas.NumberFormat.NumberDecimalSeparator = ",";
        CultureInfo.CurrentCulture = commas;
        try
        {
            using var text = new StringWriter(CultureInfo.InvariantCulture);

            new StatsReducer().Format("Oslo", (-3.5, 20.25, 8.5), text);

            Assert.Equal("Oslo\t-3.5\t20.25\t8.5\n", text.ToString());
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }
}
