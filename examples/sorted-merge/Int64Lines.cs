using System.Globalization;
using Dataflow.Core;

namespace Dataflow.Examples.SortedMerge;

/// <summary>A 64-bit integer per line, in the invariant culture: how the inputs and the text output hold numbers.</summary>
public sealed class Int64Lines : TextRecordFormat<long>
{
    /// <inheritdoc />
    public override long Parse(ReadOnlySpan<char> line) => long.Parse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public override void Format(long record, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Span<char> digits = stackalloc char[20];
        record.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        output.Write(digits[..length]);
    }
}
