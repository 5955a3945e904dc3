namespace Dataflow.Core;

/// <summary>
/// The map step of a map-reduce job: called once per input record (a line of text, without its line break), it
/// emits any number of key/value pairs. Instances are shared by concurrent tasks: keep them free of mutable state.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public abstract class Mapper<TKey, TValue>
    where TKey : notnull
{
    /// <summary>Maps one record.</summary>
    /// <param name="record">The record: one line, UTF-8 decoded, without '\n' or a trailing '\r'.</param>
    /// <param name="output">Where pairs go.</param>
    public abstract void Map(ReadOnlySpan<char> record, MapOutput<TKey, TValue> output);
}

/// <summary>Where a mapper emits its pairs.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public abstract class MapOutput<TKey, TValue>
    where TKey : notnull
{
    /// <summary>Emits one pair.</summary>
    public abstract void Emit(TKey key, TValue value);

    /// <summary>
    /// Emits one pair whose key is text (for <c>string</c> keys only), without allocating a string when the key was
    /// seen before: with a combiner, pairs are aggregated by key in memory.
    /// </summary>
    /// <exception cref="NotSupportedException">The key type is not <c>string</c>.</exception>
    public virtual void EmitText(ReadOnlySpan<char> key, TValue value)
    {
        if (typeof(TKey) != typeof(string))
        {
            throw new NotSupportedException($"EmitText needs string keys; this job's keys are {typeof(TKey).Name}");
        }

        Emit((TKey)(object)key.ToString(), value);
    }
}

/// <summary>
/// Combines two values of one key into one, map-side, before the shuffle (e.g. adding counts). It must be
/// associative and commutative: values may be combined in any grouping and order, any number of times.
/// </summary>
/// <typeparam name="TValue">The value type.</typeparam>
public interface ICombiner<TValue>
{
    /// <summary>The combination of two values of the same key.</summary>
    TValue Combine(TValue first, TValue second);
}

/// <summary>
/// The reduce step: called once per key, in key order within its partition, with every value of the key (already
/// combined where a combiner is given); its result is written as a line of text.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <typeparam name="TResult">The result type.</typeparam>
public abstract class Reducer<TKey, TValue, TResult>
    where TKey : notnull
{
    /// <summary>Reduces the values of one key.</summary>
    public abstract TResult Reduce(TKey key, IReadOnlyList<TValue> values);

    /// <summary>
    /// Writes one result as a line of text: by default <c>key&lt;TAB&gt;result\n</c>, each formatted with the invariant
    /// culture, and a tuple's items separated by tabs — a reducer returning <c>(double Min, double Max, double Mean)</c>
    /// writes <c>key&lt;TAB&gt;min&lt;TAB&gt;max&lt;TAB&gt;mean</c>. Any other type is written with its
    /// <see cref="IFormattable"/> or <see cref="object.ToString"/> (a record's is <c>Stats { Min = … }</c>): override
    /// this method to write such a result as you want it, e.g.
    /// <code>
    /// public override void Format(string key, Stats result, TextWriter output) =>
    ///     output.Write(string.Create(CultureInfo.InvariantCulture, $"{key}\t{result.Min}\t{result.Max}\t{result.Sum / result.Count:F1}\n"));
    /// </code>
    /// </summary>
    public virtual void Format(TKey key, TResult result, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        WriteText(key, output);
        output.Write('\t');
        WriteText(result, output);
        output.Write('\n');
    }

    private static void WriteText(object? value, TextWriter output)
    {
        if (value is not System.Runtime.CompilerServices.ITuple tuple)
        {
            output.Write(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
            return;
        }

        for (var i = 0; i < tuple.Length; i++)
        {
            if (i > 0)
            {
                output.Write('\t');
            }

            output.Write(Convert.ToString(tuple[i], System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
