using Mono.Cecil;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// Inside each built src assembly: the namespaces of its types refer to each other without a cycle, every public type
/// is in the namespace of the assembly's name, and every other type (but the compiler's and source generators') is
/// there too or in <c>Dataflow</c>, the namespace of the internal helpers linked into several projects (src/Shared).
/// </summary>
public sealed class NamespaceTests
{
    public static TheoryData<string> Projects => new(Repository.SourceProjects);

    [Theory]
    [MemberData(nameof(Projects))]
    public void Namespaces_OfOneAssembly_ReferToEachOtherWithoutACycle(string project)
    {
        var graph = NamespaceGraph.Read(Repository.SourceAssembly(project));

        Assert.Contains(project, graph.Edges.Keys);
        var cycle = CycleFinder.Find(graph.Edges);
        Assert.True(cycle is null, cycle is null ? "" : $"""
            {project}.dll has a namespace cycle: {string.Join(" → ", cycle)}
            {string.Join("\n", cycle.Zip(cycle.Skip(1), (from, to) => "  " + graph.Example(from, to)))}
            """);
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Types_OfOneAssembly_AreInItsNamespaceOrTheSharedOne(string project)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(Repository.SourceAssembly(project));

        var offenders = assembly.MainModule.Types
            .Where(t => !NamespaceGraph.IsGenerated(t))
            .Where(t => t.IsPublic ? t.Namespace != project : t.Namespace != project && t.Namespace != "Dataflow")
            .Select(t => $"{(t.IsPublic ? "public" : "internal")} {t.FullName}")
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(offenders.Count == 0, $"{project}.dll has types outside namespace {project} (public) or {project} and Dataflow (internal):\n  "
            + string.Join("\n  ", offenders));
    }
}
