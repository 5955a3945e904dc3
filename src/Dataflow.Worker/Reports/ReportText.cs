using System.Globalization;
using System.Text;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>Escaping and number, size and duration formats of the HTML report (invariant culture throughout).</summary>
internal static class ReportText
{
    /// <summary>Appends <paramref name="text"/> escaped for HTML text and quoted attribute values.</summary>
    public static StringBuilder AppendEscaped(this StringBuilder html, string? text)
    {
        if (text is null)
        {
            return html;
        }

        foreach (var c in text)
        {
            _ = c switch
            {
                '&' => html.Append("&amp;"),
                '<' => html.Append("&lt;"),
                '>' => html.Append("&gt;"),
                '"' => html.Append("&quot;"),
                '\'' => html.Append("&#39;"),
                // NUL is replaced by the HTML parser anyway; other C0 controls but tab and newlines are not valid HTML text.
                < ' ' and not ('\t' or '\n' or '\r') => html.Append('\uFFFD'),
                _ => html.Append(c),
            };
        }

        return html;
    }

    /// <summary><paramref name="text"/> escaped for HTML.</summary>
    public static string Escape(string? text) => new StringBuilder().AppendEscaped(text).ToString();

    /// <summary>
    /// JSON made safe inside a <c>&lt;script&gt;</c> element: no <c>&lt;</c> at all, so neither <c>&lt;/script&gt;</c>
    /// nor <c>&lt;!--</c> can end or change the script's data. A <c>&lt;</c> can only stand inside a JSON string, where
    /// <c>\u003c</c> means the same.
    /// </summary>
    public static string ScriptSafeJson(string json) => json.Replace("<", "\\u003c", StringComparison.Ordinal);

    /// <summary>A count with thousands separators: <c>1,234</c>.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A size for people: <c>512 B</c>, <c>4.0 KiB</c>, <c>1.5 GiB</c>.</summary>
    public static string Bytes(long bytes) => ByteSize.Format(bytes);

    /// <summary>A number for an SVG attribute: at most two decimals, no exponent.</summary>
    public static string Px(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A duration for people: <c>850 ms</c>, <c>1.25 s</c>, <c>12.5 s</c>, <c>2 min 05 s</c>, <c>1 h 02 min</c>.</summary>
    public static string Duration(double ms)
    {
        if (double.IsNaN(ms) || ms < 0)
        {
            ms = 0;
        }

        var inv = CultureInfo.InvariantCulture;
        if (ms < 10)
        {
            return string.Create(inv, $"{ms:0.0} ms");
        }

        if (ms < 1000)
        {
            return string.Create(inv, $"{ms:0} ms");
        }

        if (ms < 10_000)
        {
            return string.Create(inv, $"{ms / 1000:0.00} s");
        }

        if (ms < 60_000)
        {
            return string.Create(inv, $"{ms / 1000:0.0} s");
        }

        var seconds = (long)Math.Round(ms / 1000);
        return seconds < 3600
            ? string.Create(inv, $"{seconds / 60} min {seconds % 60:00} s")
            : string.Create(inv, $"{seconds / 3600} h {seconds / 60 % 60:00} min");
    }

    /// <summary>The label of a time-axis tick at <paramref name="ms"/> on an axis whose ticks are <paramref name="stepMs"/> apart.</summary>
    public static string Tick(double ms, double stepMs)
    {
        var inv = CultureInfo.InvariantCulture;
        if (ms == 0)
        {
            return "0";
        }

        if (stepMs < 1000 && ms < 1000)
        {
            return string.Create(inv, $"{ms:0.###} ms");
        }

        if (stepMs < 60_000)
        {
            return string.Create(inv, $"{ms / 1000:0.###} s");
        }

        return stepMs < 3_600_000
            ? string.Create(inv, $"{ms / 60_000:0.##} min")
            : string.Create(inv, $"{ms / 3_600_000:0.##} h");
    }

    /// <summary>
    /// A tick spacing for an axis of <paramref name="totalMs"/>: the smallest round step (1-2-5 below a second, then
    /// 1, 2, 5, 10, 15, 30 s and min, then 1, 2, 3, 6, 12 h and whole days) that gives at most <paramref name="maxTicks"/> intervals.
    /// </summary>
    public static double TickStep(double totalMs, int maxTicks = 10)
    {
        ReadOnlySpan<double> steps =
        [
            1, 2, 5, 10, 20, 50, 100, 200, 500,
            1_000, 2_000, 5_000, 10_000, 15_000, 30_000,
            60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
            3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
        ];
        foreach (var step in steps)
        {
            if (totalMs / step <= maxTicks)
            {
                return step;
            }
        }

        const double Day = 86_400_000;
        return Day * Math.Ceiling(totalMs / Day / maxTicks);
    }
}
