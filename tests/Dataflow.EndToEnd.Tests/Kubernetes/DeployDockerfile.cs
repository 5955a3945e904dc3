using System.Text.RegularExpressions;

namespace Dataflow.EndToEnd.Tests.Kubernetes;

/// <summary>
/// deploy/Dockerfile as the tests read it (no Docker engine runs here): its stages, its ARG defaults, and its
/// <c>dotnet publish</c> commands with those defaults filled in and <c>/app</c> replaced by a folder of the test's.
/// </summary>
internal static partial class DeployDockerfile
{
    public static string Text => File.ReadAllText(Path.Combine(ClusterFixture.RepositoryRoot(), "deploy", "Dockerfile"));

    /// <summary>The stages, as (image, name) in order.</summary>
    public static List<(string Image, string Name)> Stages() =>
        [.. FromLine().Matches(Text).Select(m => (m.Groups["image"].Value, m.Groups["name"].Value))];

    /// <summary>
    /// The arguments of the one <c>RUN dotnet publish</c> line whose flags include <paramref name="aot"/>
    /// <c>-p:PublishAot=true</c> or not, its project and runtime identifier the ARG defaults, into <paramref name="output"/>.
    /// </summary>
    public static string[] PublishArguments(bool aot, string output)
    {
        var text = Text;

        // An ARG of several stages has one default in all of them.
        var defaults = ArgDefault().Matches(text)
            .GroupBy(m => m.Groups["name"].Value, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(m => m.Groups["value"].Value).Distinct(StringComparer.Ordinal).Single(), StringComparer.Ordinal);
        var publish = PublishCommand().Matches(text).Select(m => m.Groups["args"].Value)
            .Single(a => a.Contains("-p:PublishAot=true", StringComparison.Ordinal) == aot);
        if (!publish.Contains("-o /app", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"a publish of deploy/Dockerfile does not write to /app: {publish}");
        }

        return
        [
            "publish",
            .. publish
                .Replace("\"$PROJECT\"", defaults["PROJECT"], StringComparison.Ordinal)
                .Replace("$RID", defaults["RID"], StringComparison.Ordinal)
                .Replace("-o /app", $"-o {output}", StringComparison.Ordinal)
                .Split(' ', StringSplitOptions.RemoveEmptyEntries),
        ];
    }

    [GeneratedRegex(@"^FROM (?<image>\S+) AS (?<name>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^ARG (?<name>[A-Z_]+)=(?<value>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ArgDefault();

    [GeneratedRegex(@"^RUN dotnet publish (?<args>.+)$", RegexOptions.Multiline)]
    private static partial Regex PublishCommand();
}
