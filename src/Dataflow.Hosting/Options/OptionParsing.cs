using System.Globalization;
using Dataflow.Core;

namespace Dataflow.Hosting;

/// <summary>Parsers of option values shared by the option groups.</summary>
internal static class OptionParsing
{
    /// <summary>Parses the name of one of <typeparamref name="T"/>'s values, in any case; numbers are refused.</summary>
    /// <exception cref="FormatException">The text names none of the values; the message lists them.</exception>
    public static T ParseEnum<T>(string text)
        where T : struct, Enum =>
        Enum.TryParse<T>(text, ignoreCase: true, out var value) && Enum.IsDefined(value) && !int.TryParse(text, CultureInfo.InvariantCulture, out _)
            ? value
            : throw new FormatException($"'{text}' is not one of: {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");

    /// <summary>Parses <c>--cache</c>: <c>on</c>, <c>off</c> or <c>read-only</c>.</summary>
    public static CacheMode ParseCacheMode(string text) => text.ToLowerInvariant() switch
    {
        "on" => CacheMode.On,
        "off" => CacheMode.Off,
        "read-only" or "readonly" => CacheMode.ReadOnly,
        _ => throw new FormatException($"'{text}' is not one of: on, off, read-only"),
    };
}
