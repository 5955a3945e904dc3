using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataflow.Kubernetes;

/// <summary>
/// Writes a JSON tree (a manifest) as YAML that <c>kubectl</c> and <c>argo</c> read back as the same tree: block
/// mappings and sequences, numbers, booleans and null plain, empty objects and arrays as <c>{}</c> and <c>[]</c>, and
/// every string that YAML could read as something else (a number, a boolean, <c>null</c>, a flow or comment
/// character, a template such as <c>{{item}}</c>) double-quoted.
/// </summary>
internal static class ManifestYaml
{
    private const int IndentStep = 2;

    /// <summary>Writes <paramref name="node"/> as a YAML document to <paramref name="writer"/>.</summary>
    /// <param name="node">The tree; <see langword="null"/> is written as <c>null</c>.</param>
    /// <param name="writer">Where to write.</param>
    public static void Write(JsonNode? node, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteNode(node, writer, 0, continuesLine: false);
    }

    /// <summary>The YAML text of <paramref name="node"/>.</summary>
    /// <param name="node">The tree; <see langword="null"/> is written as <c>null</c>.</param>
    /// <returns>The YAML document, ending with a line break.</returns>
    public static string ToYaml(JsonNode? node)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Write(node, writer);
        return writer.ToString();
    }

    // Writes a node whose first line starts where the cursor is when continuesLine (after "- "), else at indent.
    private static void WriteNode(JsonNode? node, TextWriter writer, int indent, bool continuesLine)
    {
        switch (node)
        {
            case JsonObject map when map.Count > 0:
                var firstKey = true;
                foreach (var (key, value) in map)
                {
                    if (!firstKey || !continuesLine)
                    {
                        writer.Write(new string(' ', indent));
                    }

                    firstKey = false;
                    writer.Write(Scalar(key));
                    writer.Write(':');
                    if (IsBlock(value))
                    {
                        writer.Write('\n');
                        WriteNode(value, writer, indent + IndentStep, continuesLine: false);
                    }
                    else
                    {
                        writer.Write(' ');
                        writer.Write(Inline(value));
                        writer.Write('\n');
                    }
                }

                break;
            case JsonArray list when list.Count > 0:
                var firstItem = true;
                foreach (var item in list)
                {
                    if (!firstItem || !continuesLine)
                    {
                        writer.Write(new string(' ', indent));
                    }

                    firstItem = false;
                    writer.Write("- ");
                    if (IsBlock(item))
                    {
                        WriteNode(item, writer, indent + IndentStep, continuesLine: true);
                    }
                    else
                    {
                        writer.Write(Inline(item));
                        writer.Write('\n');
                    }
                }

                break;
            default:
                if (continuesLine)
                {
                    throw new InvalidOperationException("a scalar cannot continue a line");
                }

                writer.Write(new string(' ', indent));
                writer.Write(Inline(node));
                writer.Write('\n');
                break;
        }
    }

    private static bool IsBlock(JsonNode? node) => node is JsonObject { Count: > 0 } or JsonArray { Count: > 0 };

    private static string Inline(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => Scalar(value.GetValue<string>()),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Null => "null",
            JsonValueKind.Number => value.ToJsonString(),
            var kind => throw new ArgumentException($"a JSON value of kind {kind} cannot be written as YAML", nameof(node)),
        },
        _ => throw new ArgumentException($"unexpected JSON node {node.GetType().Name}", nameof(node)),
    };

    /// <summary>A string as a YAML scalar: plain when it can only be read as that string, else double-quoted.</summary>
    internal static string Scalar(string text) => IsPlainSafe(text) ? text : Quote(text);

    // Plain only for the shape of names and simple words: a letter first (so never a number, '-', '.', or an
    // indicator), then letters, digits and "-_./"; and never a word YAML 1.1 or 1.2 reads as a boolean or null.
    private static bool IsPlainSafe(string text)
    {
        if (text.Length == 0 || !char.IsAsciiLetter(text[0]))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/'))
            {
                return false;
            }
        }

        return text.ToUpperInvariant() is not ("Y" or "N" or "YES" or "NO" or "ON" or "OFF" or "TRUE" or "FALSE" or "NULL");
    }

    private static string Quote(string text)
    {
        var builder = new StringBuilder(text.Length + 2);
        builder.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                // Control characters, YAML 1.1 line separators, the byte-order mark and lone surrogates: escaped,
                // as YAML allows none of them raw.
                case < ' ' or (>= '\u007f' and <= '\u009f') or '\u2028' or '\u2029' or '\ufeff' or '\ufffe' or '\uffff':
                    builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        builder.Append('"');
        return builder.ToString();
    }
}
