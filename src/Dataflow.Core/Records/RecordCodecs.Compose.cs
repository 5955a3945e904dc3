using System.Buffers;

namespace Dataflow.Core;

/// <summary>Codecs composed of other codecs: tuples, and values made of a tuple's parts.</summary>
public static partial class RecordCodecs
{
    /// <summary>
    /// A codec of pairs: each item written with its codec as a field (<see cref="RecordCodec{T}.WriteField"/>), in
    /// order. Varints and fixed-size numbers take no length; strings and codecs of your own take a varint length.
    /// </summary>
    public static RecordCodec<(T1, T2)> Tuple<T1, T2>(RecordCodec<T1> first, RecordCodec<T2> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return new TupleCodec<T1, T2>(first, second);
    }

    /// <summary>A codec of triples; see <see cref="Tuple{T1, T2}"/>.</summary>
    public static RecordCodec<(T1, T2, T3)> Tuple<T1, T2, T3>(RecordCodec<T1> first, RecordCodec<T2> second, RecordCodec<T3> third)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentNullException.ThrowIfNull(third);
        return new TupleCodec<T1, T2, T3>(first, second, third);
    }

    /// <summary>
    /// A codec of 4-tuples; see <see cref="Tuple{T1, T2}"/>. With <see cref="Convert{TParts, T}"/> it encodes a small
    /// struct of four members:
    /// <code>
    /// RecordCodec&lt;Stats&gt; codec = RecordCodecs.Tuple(RecordCodecs.Binary64, RecordCodecs.Binary64, RecordCodecs.Binary64, RecordCodecs.Varint64)
    ///     .Convert(p => new Stats(p.Item1, p.Item2, p.Item3, p.Item4), s => (s.Min, s.Max, s.Sum, s.Count));
    /// </code>
    /// </summary>
    public static RecordCodec<(T1, T2, T3, T4)> Tuple<T1, T2, T3, T4>(RecordCodec<T1> first, RecordCodec<T2> second, RecordCodec<T3> third, RecordCodec<T4> fourth)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentNullException.ThrowIfNull(third);
        ArgumentNullException.ThrowIfNull(fourth);
        return new TupleCodec<T1, T2, T3, T4>(first, second, third, fourth);
    }

    /// <summary>
    /// A codec of <typeparamref name="T"/> that encodes its parts with <paramref name="parts"/> (usually a
    /// <see cref="Tuple{T1, T2}"/> codec): a value is taken apart with <paramref name="toParts"/> to be written and
    /// made from its parts with <paramref name="fromParts"/> when read.
    /// </summary>
    /// <param name="parts">The codec of the parts.</param>
    /// <param name="fromParts">Makes a value from its parts (a constructor call).</param>
    /// <param name="toParts">Takes a value apart (a tuple of its members).</param>
    public static RecordCodec<T> Convert<TParts, T>(this RecordCodec<TParts> parts, Func<TParts, T> fromParts, Func<T, TParts> toParts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(fromParts);
        ArgumentNullException.ThrowIfNull(toParts);
        return new ConvertedCodec<TParts, T>(parts, fromParts, toParts);
    }

    /// <summary>
    /// A codec whose bytes are its fields, each ending by itself: as a field of another record it needs no length,
    /// and a whole record is its fields and nothing more.
    /// </summary>
    private abstract class FieldsCodec<T> : RecordCodec<T>
    {
        public sealed override void Write(T value, IBufferWriter<byte> output) => WriteField(value, output);

        public sealed override T Read(ReadOnlySpan<byte> bytes)
        {
            var reader = new RecordReader(bytes);
            var value = ReadField(ref reader);
            reader.EnsureEnd();
            return value;
        }
    }

    private sealed class TupleCodec<T1, T2>(RecordCodec<T1> first, RecordCodec<T2> second) : FieldsCodec<(T1, T2)>
    {
        public override void WriteField((T1, T2) value, IBufferWriter<byte> output)
        {
            first.WriteField(value.Item1, output);
            second.WriteField(value.Item2, output);
        }

        public override (T1, T2) ReadField(ref RecordReader reader) => (first.ReadField(ref reader), second.ReadField(ref reader));

        public override int EstimateSize((T1, T2) value) => first.EstimateSize(value.Item1) + second.EstimateSize(value.Item2);
    }

    private sealed class TupleCodec<T1, T2, T3>(RecordCodec<T1> first, RecordCodec<T2> second, RecordCodec<T3> third) : FieldsCodec<(T1, T2, T3)>
    {
        public override void WriteField((T1, T2, T3) value, IBufferWriter<byte> output)
        {
            first.WriteField(value.Item1, output);
            second.WriteField(value.Item2, output);
            third.WriteField(value.Item3, output);
        }

        public override (T1, T2, T3) ReadField(ref RecordReader reader) =>
            (first.ReadField(ref reader), second.ReadField(ref reader), third.ReadField(ref reader));

        public override int EstimateSize((T1, T2, T3) value) =>
            first.EstimateSize(value.Item1) + second.EstimateSize(value.Item2) + third.EstimateSize(value.Item3);
    }

    private sealed class TupleCodec<T1, T2, T3, T4>(RecordCodec<T1> first, RecordCodec<T2> second, RecordCodec<T3> third, RecordCodec<T4> fourth)
        : FieldsCodec<(T1, T2, T3, T4)>
    {
        public override void WriteField((T1, T2, T3, T4) value, IBufferWriter<byte> output)
        {
            first.WriteField(value.Item1, output);
            second.WriteField(value.Item2, output);
            third.WriteField(value.Item3, output);
            fourth.WriteField(value.Item4, output);
        }

        public override (T1, T2, T3, T4) ReadField(ref RecordReader reader) =>
            (first.ReadField(ref reader), second.ReadField(ref reader), third.ReadField(ref reader), fourth.ReadField(ref reader));

        public override int EstimateSize((T1, T2, T3, T4) value) =>
            first.EstimateSize(value.Item1) + second.EstimateSize(value.Item2) + third.EstimateSize(value.Item3) + fourth.EstimateSize(value.Item4);
    }

    private sealed class ConvertedCodec<TParts, T>(RecordCodec<TParts> parts, Func<TParts, T> fromParts, Func<T, TParts> toParts) : RecordCodec<T>
    {
        public override void Write(T value, IBufferWriter<byte> output) => parts.Write(toParts(value), output);

        public override T Read(ReadOnlySpan<byte> bytes) => fromParts(parts.Read(bytes));

        public override void WriteField(T value, IBufferWriter<byte> output) => parts.WriteField(toParts(value), output);

        public override T ReadField(ref RecordReader reader) => fromParts(parts.ReadField(ref reader));

        public override int EstimateSize(T value) => parts.EstimateSize(toParts(value));
    }
}
