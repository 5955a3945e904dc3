using System.Globalization;

namespace Dataflow.Hosting;

/// <summary>Durations on command lines: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>7d</c>, <c>infinite</c>, or <c>hh:mm:ss</c>.</summary>
public static class Duration
{
    /// <summary>Parses a duration.</summary>
    /// <exception cref="FormatException">The text is not a positive duration in one of the accepted forms.</exception>
    public static TimeSpan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.Equals("infinite", StringComparison.OrdinalIgnoreCase) || t.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return Timeout.InfiniteTimeSpan;
        }

        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)];
        foreach (var (suffix, seconds) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(t[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)
                && n > 0)
            {
                return TimeSpan.FromSeconds(n * seconds);
            }
        }

        if (TimeSpan.TryParseExact(t, @"hh\:mm\:ss", CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
        {
            return span;
        }

        throw new FormatException($"'{text}' is not a duration: use e.g. 500ms, 30s, 5m, 2h, 7d, 00:05:00 or infinite");
    }
}
