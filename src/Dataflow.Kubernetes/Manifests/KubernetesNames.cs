using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Dataflow.Kubernetes;

/// <summary>Kubernetes-safe names and label values made from job names and run ids.</summary>
internal static partial class KubernetesNames
{
    /// <summary>The longest DNS-1123 label, and the longest label value.</summary>
    public const int MaxLength = 63;

    private const int HashLength = 8;

    /// <summary>
    /// A DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit) of at most
    /// <paramref name="maxLength"/> characters made from <paramref name="text"/>; when it has to be cut, it ends with
    /// '-' and a short hash of the whole text, so that different long texts still get different names.
    /// </summary>
    public static string DnsLabel(string text, int maxLength = MaxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, HashLength + 2);
        var builder = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
        {
            var ok = c is >= 'a' and <= 'z' or >= '0' and <= '9';
            if (ok)
            {
                builder.Append(c);
            }
            else if (builder.Length > 0 && builder[^1] != '-')
            {
                builder.Append('-');
            }
        }

        var name = builder.ToString().Trim('-');
        if (name.Length == 0)
        {
            name = "x";
        }

        return name.Length <= maxLength ? name : Cut(name, text, maxLength);
    }

    /// <summary>
    /// A valid label value (at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a
    /// letter or digit) made from <paramref name="text"/>: the text itself when it is one already.
    /// </summary>
    public static string LabelValue(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IsLabelValue(text) && text.Length > 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '_' or '.' ? c : '-');
        }

        var value = builder.ToString().Trim('-', '_', '.');
        if (value.Length == 0)
        {
            value = "x";
        }

        return value.Length <= MaxLength ? value : Cut(value, text, MaxLength);
    }

    /// <summary>Whether <paramref name="value"/> is a valid label value (the empty string is one).</summary>
    public static bool IsLabelValue(string? value) => value is not null && LabelValuePattern().IsMatch(value);

    /// <summary>Whether <paramref name="name"/> is a DNS-1123 label.</summary>
    public static bool IsDnsLabel(string? name) => name is not null && DnsLabelPattern().IsMatch(name);

    private static string Cut(string name, string original, int maxLength)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(original));
        var suffix = Convert.ToHexStringLower(hash, 0, HashLength / 2);
        var head = name[..(maxLength - HashLength - 1)].TrimEnd('-', '_', '.');
        return string.Create(CultureInfo.InvariantCulture, $"{head}-{suffix}");
    }

    [GeneratedRegex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
    private static partial Regex LabelValuePattern();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabelPattern();
}
