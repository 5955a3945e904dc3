using System.Globalization;

namespace Dataflow.Core;

/// <summary>Sizes on command lines: plain bytes (<c>1048576</c>, <c>512B</c>) or binary units (<c>64KiB</c>, <c>8MiB</c>, <c>1GiB</c>, <c>2TiB</c>).</summary>
public static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] s_units =
    [
        ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10), ("B", 1),
    ];

    /// <summary>Parses a size.</summary>
    /// <exception cref="FormatException">The text is not a non-negative whole number of bytes or of KiB/MiB/GiB/TiB, or it overflows.</exception>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        long factor = 1;
        foreach (var (suffix, f) in s_units)
        {
            if (trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                trimmed = trimmed[..^suffix.Length].TrimEnd();
                factor = f;
                break;
            }
        }

        if (!long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            throw new FormatException($"'{text}' is not a size: use bytes or KiB, MiB, GiB, TiB (e.g. 512, 64KiB, 8MiB)");
        }

        try
        {
            return checked(number * factor);
        }
        catch (OverflowException)
        {
            throw new FormatException($"'{text}' is too large a size");
        }
    }

    /// <summary>A size for people: <c>512 B</c>, <c>4.0 KiB</c>, <c>1.5 GiB</c>.</summary>
    public static string Format(long bytes)
    {
        if (bytes < 1024)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes} B");
        }

        foreach (var (suffix, factor) in s_units)
        {
            if (bytes >= factor)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{(double)bytes / factor:0.0} {suffix}");
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }
}
