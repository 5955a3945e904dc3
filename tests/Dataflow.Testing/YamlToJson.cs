using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dataflow.Testing;

/// <summary>
/// Reads YAML back into a JSON tree with YamlDotNet, resolving plain scalars as a Kubernetes client would (YAML 1.2
/// core schema, plus the YAML 1.1 booleans yes/no/on/off, so that a writer which leaves such a word plain fails).
/// </summary>
public static partial class YamlToJson
{
    /// <summary>The one document of <paramref name="yaml"/> as a JSON tree.</summary>
    /// <exception cref="InvalidDataException">The text is not one YAML document.</exception>
    public static JsonNode? Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count != 1)
        {
            throw new InvalidDataException($"expected one YAML document, found {stream.Documents.Count}");
        }

        return Convert(stream.Documents[0].RootNode);
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => ConvertMap(map),
        YamlSequenceNode list => new JsonArray(list.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => ConvertScalar(scalar),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.GetType().Name}"),
    };

    private static JsonObject ConvertMap(YamlMappingNode map)
    {
        var result = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            var name = (key as YamlScalarNode ?? throw new InvalidDataException($"a mapping key is a {key.GetType().Name}, not a scalar")).Value!;
            result.Add(name, Convert(value));
        }

        return result;
    }

    private static JsonNode? ConvertScalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        if (text is "" or "~" || text.Equals("null", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        switch (text.ToUpperInvariant())
        {
            case "TRUE" or "YES" or "ON" or "Y":
                return JsonValue.Create(true);
            case "FALSE" or "NO" or "OFF" or "N":
                return JsonValue.Create(false);
        }

        if (NumberPattern().IsMatch(text))
        {
            // JSON-shaped numbers keep their text; others (0123, +1, .5) are still numbers to YAML, which is the point.
            return JsonNumberPattern().IsMatch(text)
                ? JsonNode.Parse(text)
                : JsonValue.Create(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^0x[0-9a-fA-F]+$|^0o[0-7]+$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex JsonNumberPattern();
}
