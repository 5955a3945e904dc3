namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>Finds a cycle in a directed graph given as each node's successors.</summary>
internal static class CycleFinder
{
    /// <summary>
    /// One cycle of <paramref name="edges"/> as its path, first node repeated at the end (<c>A, B, A</c>), or null when
    /// the graph is acyclic. A node's edge to itself counts as a cycle (<c>A, A</c>). Deterministic: nodes and
    /// successors are visited in ordinal order.
    /// </summary>
    public static IReadOnlyList<string>? Find(IReadOnlyDictionary<string, IReadOnlySet<string>> edges)
    {
        ArgumentNullException.ThrowIfNull(edges);
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: on the current path; true: done
        var path = new List<string>();
        foreach (var start in edges.Keys.Order(StringComparer.Ordinal))
        {
            if (!state.ContainsKey(start) && Visit(start, edges, state, path) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    private static List<string>? Visit(string node, IReadOnlyDictionary<string, IReadOnlySet<string>> edges, Dictionary<string, bool> state, List<string> path)
    {
        state[node] = false;
        path.Add(node);
        foreach (var next in (edges.TryGetValue(node, out var successors) ? successors : new HashSet<string>()).Order(StringComparer.Ordinal))
        {
            if (!state.TryGetValue(next, out var done))
            {
                if (Visit(next, edges, state, path) is { } cycle)
                {
                    return cycle;
                }
            }
            else if (!done)
            {
                return [.. path[path.IndexOf(next)..], next];
            }
        }

        path.RemoveAt(path.Count - 1);
        state[node] = true;
        return null;
    }
}
