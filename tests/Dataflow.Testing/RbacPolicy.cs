using YamlDotNet.RepresentationModel;

namespace Dataflow.Testing;

/// <summary>The rules of the Role or ClusterRole documents of an RBAC manifest; other documents are ignored.</summary>
internal sealed class RbacPolicy
{
    private readonly List<Rule> _rules;

    private RbacPolicy(List<Rule> rules) => _rules = rules;

    public static RbacPolicy Parse(string yaml)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
        {
            stream.Load(reader);
        }

        var rules = new List<Rule>();
        var roles = 0;
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is not YamlMappingNode root || Scalar(root, "kind") is not ("Role" or "ClusterRole"))
            {
                continue;
            }

            roles++;
            if (Child(root, "rules") is not YamlSequenceNode ruleNodes)
            {
                continue;
            }

            foreach (var node in ruleNodes.OfType<YamlMappingNode>())
            {
                rules.Add(new Rule(List(node, "apiGroups"), List(node, "resources"), List(node, "verbs"), List(node, "resourceNames")));
            }
        }

        if (roles == 0)
        {
            throw new ArgumentException("The RBAC manifest holds no Role or ClusterRole.", nameof(yaml));
        }

        return new RbacPolicy(rules);
    }

    public bool Allows(string group, string resource, string verb, string? name) =>
        _rules.Exists(r =>
            Matches(r.ApiGroups, group)
            && Matches(r.Resources, resource)
            && Matches(r.Verbs, verb)
            && (r.ResourceNames.Count == 0 || (name is not null && r.ResourceNames.Contains(name))));

    private static bool Matches(IReadOnlyCollection<string> granted, string value) =>
        granted.Contains("*") || granted.Contains(value);

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    private static string? Scalar(YamlMappingNode map, string key) => (Child(map, key) as YamlScalarNode)?.Value;

    private static HashSet<string> List(YamlMappingNode map, string key) =>
        Child(map, key) is YamlSequenceNode seq
            ? seq.OfType<YamlScalarNode>().Select(s => s.Value ?? "").ToHashSet(StringComparer.Ordinal)
            : [];

    private sealed record Rule(
        HashSet<string> ApiGroups, HashSet<string> Resources, HashSet<string> Verbs, HashSet<string> ResourceNames);
}
