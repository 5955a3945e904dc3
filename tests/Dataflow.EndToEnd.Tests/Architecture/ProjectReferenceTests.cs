using System.Xml.Linq;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// The projects under src/ and examples/ reference each other in a line — Core ← Planner, Storage ← Worker ←
/// Kubernetes ← Hosting ← the examples — and the heavy packages only where the README says they are.
/// </summary>
public sealed class ProjectReferenceTests
{
    private static readonly Dictionary<string, string[]> s_expected = new(StringComparer.Ordinal)
    {
        ["Dataflow.Core"] = [],
        ["Dataflow.Planner"] = ["Dataflow.Core"],
        ["Dataflow.Storage"] = ["Dataflow.Core"],
        ["Dataflow.Worker"] = ["Dataflow.Core", "Dataflow.Planner", "Dataflow.Storage"],
        ["Dataflow.Kubernetes"] = ["Dataflow.Worker"],
        ["Dataflow.Hosting"] = ["Dataflow.Kubernetes"],
        ["merge-files"] = ["Dataflow.Hosting"],
        ["word-count"] = ["Dataflow.Hosting"],
        ["sorted-merge"] = ["Dataflow.Hosting"],
    };

    /// <summary>Package name prefixes, and the one project that may reference them.</summary>
    private static readonly (string Package, string Project)[] s_confined =
    [
        ("KubernetesClient", "Dataflow.Kubernetes"),
        ("System.CommandLine", "Dataflow.Hosting"),
        ("Spectre.Console", "Dataflow.Hosting"),
        ("OpenTelemetry", "Dataflow.Hosting"),
    ];

    [Fact]
    public void ProjectReferences_OfSrcAndExamples_AreExactlyTheLine()
    {
        var projects = Projects();

        var actual = projects.ToDictionary(p => p.Name, p => p.ProjectReferences, StringComparer.Ordinal);
        var differences = s_expected.Keys.Union(actual.Keys)
            .Order(StringComparer.Ordinal)
            .Select(name => (name, expected: s_expected.GetValueOrDefault(name), actual: actual.GetValueOrDefault(name)))
            .Where(p => p.expected is null || p.actual is null || !p.expected.Order(StringComparer.Ordinal).SequenceEqual(p.actual))
            .Select(p => $"{p.name}: expected {Show(p.expected)}, found {Show(p.actual)}")
            .ToList();
        Assert.True(differences.Count == 0, "project references differ from the line:\n  " + string.Join("\n  ", differences));
        var cycle = CycleFinder.Find(actual.ToDictionary(p => p.Key, p => (IReadOnlySet<string>)p.Value.ToHashSet(), StringComparer.Ordinal));
        Assert.True(cycle is null, $"project reference cycle: {string.Join(" → ", cycle ?? [])}");
    }

    [Fact]
    public void PackageReferences_OfSrcAndExamples_KeepKubernetesInKubernetesAndTheCommandLineInHosting()
    {
        var offenders = Projects()
            .SelectMany(p => p.PackageReferences.Select(package => (project: p, package)))
            .SelectMany(r => s_confined
                .Where(c => IsPackage(r.package, c.Package) && r.project.Name != c.Project)
                .Select(c => $"{r.project.Path} references {r.package}, which only {c.Project} may"))
            .ToList();

        Assert.True(offenders.Count == 0, string.Join("\n", offenders));
        // And they are where they are said to be: a test that finds nothing must not pass by finding no projects.
        var all = Projects().ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (var (package, project) in s_confined)
        {
            Assert.Contains(all[project].PackageReferences, p => IsPackage(p, package));
        }
    }

    [Fact]
    public void FrameworkReferences_OfSrcAndExamples_PutAspNetCoreInHostingOnly()
    {
        // The ui command's web server: ASP.NET Core's shared framework, which a program that references Worker alone
        // (or Kubernetes) does not need.
        var frameworks = new[] { "src", "examples" }
            .SelectMany(folder => Directory.EnumerateDirectories(Path.Combine(Repository.Root, folder)))
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.csproj"))
            .SelectMany(path => Includes(XDocument.Load(path), "FrameworkReference").Select(f => (Project: Path.GetFileNameWithoutExtension(path), Framework: f)))
            .ToList();

        Assert.Equal([("Dataflow.Hosting", "Microsoft.AspNetCore.App")], frameworks);
    }

    [Fact]
    public void PackageReferences_InSharedBuildFiles_AreNoneOfTheConfinedPackages()
    {
        // Directory.Build.props and .targets apply to every project below them.
        var offenders = new[] { "Directory.Build.props", "Directory.Build.targets", "src/Directory.Build.props", "src/Directory.Build.targets", "examples/Directory.Build.props" }
            .Select(f => Path.Combine(Repository.Root, f))
            .Where(File.Exists)
            .SelectMany(f => Includes(XDocument.Load(f), "PackageReference").Where(p => s_confined.Any(c => IsPackage(p, c.Package))).Select(p => $"{f}: {p}"))
            .ToList();

        Assert.Empty(offenders);
    }

    private static bool IsPackage(string reference, string package) =>
        reference.Equals(package, StringComparison.OrdinalIgnoreCase) || reference.StartsWith(package + ".", StringComparison.OrdinalIgnoreCase);

    private static string Show(string[]? references) => references is null ? "no project" : "{" + string.Join(", ", references) + "}";

    private static List<ProjectFile> Projects()
    {
        var files = new[] { "src", "examples" }
            .SelectMany(folder => Directory.EnumerateDirectories(Path.Combine(Repository.Root, folder)))
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.csproj"))
            .ToList();
        Assert.NotEmpty(files);
        return [.. files.Select(path =>
        {
            var project = XDocument.Load(path);
            return new ProjectFile(
                Path.GetFileNameWithoutExtension(path),
                Path.GetRelativePath(Repository.Root, path),
                [.. Includes(project, "ProjectReference").Select(p => Path.GetFileNameWithoutExtension(p.Replace('\\', '/'))).Order(StringComparer.Ordinal)],
                [.. Includes(project, "PackageReference")]);
        })];
    }

    private static IEnumerable<string> Includes(XDocument project, string item) =>
        project.Descendants(item).Select(e => (string?)e.Attribute("Include")).OfType<string>();

    private sealed record ProjectFile(string Name, string Path, string[] ProjectReferences, string[] PackageReferences);
}
