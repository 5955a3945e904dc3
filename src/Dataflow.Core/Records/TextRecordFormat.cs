namespace Dataflow.Core;

/// <summary>
/// How a record of <typeparamref name="T"/> reads from and writes to one line of text. Instances are shared by
/// concurrent tasks: keep them free of mutable state.
/// </summary>
/// <typeparam name="T">The record type.</typeparam>
public abstract class TextRecordFormat<T>
{
    /// <summary>Parses one line: UTF-8 decoded, without its '\n' or a trailing '\r'. Throw <see cref="FormatException"/> for a line that is not a record.</summary>
    public abstract T Parse(ReadOnlySpan<char> line);

    /// <summary>Writes one record's text, without a line break: the writer ends each record's line with '\n'.</summary>
    public abstract void Format(T record, TextWriter output);
}
