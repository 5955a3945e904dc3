using System.Text.Json.Nodes;

namespace Dataflow.Testing;

/// <summary>Label and field selectors as the list and watch calls take them.</summary>
internal static class Selectors
{
    /// <summary>
    /// Parses <c>k=v</c>, <c>k==v</c>, <c>k!=v</c>, <c>k</c>, <c>!k</c>, <c>k in (a,b)</c> and <c>k notin (a,b)</c>,
    /// comma-separated (all must hold).
    /// </summary>
    public static Func<JsonObject, bool> Labels(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return static _ => true;
        }

        var tests = new List<Func<IReadOnlyDictionary<string, string>, bool>>();
        foreach (var term in SplitTopLevel(selector))
        {
            tests.Add(ParseLabelTerm(term.Trim()));
        }

        return obj =>
        {
            var labels = Json.Labels(obj);
            return tests.TrueForAll(t => t(labels));
        };
    }

    /// <summary>Parses <c>metadata.name=x</c>, <c>metadata.namespace=x</c> (and <c>==</c>, <c>!=</c>).</summary>
    public static Func<JsonObject, bool> Fields(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return static _ => true;
        }

        var tests = new List<Func<JsonObject, bool>>();
        foreach (var raw in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var negate = raw.Contains("!=", StringComparison.Ordinal);
            var parts = raw.Split(negate ? "!=" : raw.Contains("==", StringComparison.Ordinal) ? "==" : "=", 2);
            if (parts.Length != 2)
            {
                throw ApiStatusException.BadRequest($"invalid field selector: \"{selector}\"");
            }

            var path = parts[0].Trim().Split('.');
            var expected = parts[1].Trim();
            tests.Add(obj =>
            {
                JsonNode? node = obj;
                foreach (var p in path)
                {
                    node = node?[p];
                }

                return (Json.Str(node) == expected) != negate;
            });
        }

        return obj => tests.TrueForAll(t => t(obj));
    }

    private static IEnumerable<string> SplitTopLevel(string selector)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            switch (selector[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return selector[start..i];
                    start = i + 1;
                    break;
            }
        }

        yield return selector[start..];
    }

    private static Func<IReadOnlyDictionary<string, string>, bool> ParseLabelTerm(string term)
    {
        if (term.Length == 0)
        {
            throw ApiStatusException.BadRequest("invalid label selector: empty term");
        }

        var spaced = term.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (spaced.Length == 2 && (spaced[1].StartsWith("in", StringComparison.Ordinal) || spaced[1].StartsWith("notin", StringComparison.Ordinal)))
        {
            var notIn = spaced[1].StartsWith("notin", StringComparison.Ordinal);
            var list = spaced[1][(notIn ? 5 : 2)..].Trim().TrimStart('(').TrimEnd(')');
            var values = list.Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
            var key = spaced[0];
            return labels => notIn
                ? !labels.TryGetValue(key, out var v) || !values.Contains(v)
                : labels.TryGetValue(key, out var w) && values.Contains(w);
        }

        if (term.Contains("!=", StringComparison.Ordinal))
        {
            var parts = term.Split("!=", 2, StringSplitOptions.TrimEntries);
            return labels => !labels.TryGetValue(parts[0], out var v) || v != parts[1];
        }

        if (term.Contains('=', StringComparison.Ordinal))
        {
            var parts = term.Split(term.Contains("==", StringComparison.Ordinal) ? "==" : "=", 2, StringSplitOptions.TrimEntries);
            return labels => labels.TryGetValue(parts[0], out var v) && v == parts[1];
        }

        if (term.StartsWith('!'))
        {
            var key = term[1..].Trim();
            return labels => !labels.ContainsKey(key);
        }

        return labels => labels.ContainsKey(term);
    }
}
