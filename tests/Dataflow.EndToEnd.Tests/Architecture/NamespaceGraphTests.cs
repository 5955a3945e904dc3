using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Mono.Cecil;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>The cycle finder and the namespace graph behind <see cref="NamespaceTests"/>, on graphs and assemblies made here.</summary>
public sealed class NamespaceGraphTests
{
    [Fact]
    public void Find_CycleOfThreeReachedFromOutside_ReturnsItsPath()
    {
        var cycle = CycleFinder.Find(Graph(("D", "A"), ("A", "B"), ("B", "C"), ("C", "A"), ("C", "E")));

        Assert.Equal(["A", "B", "C", "A"], cycle);
    }

    [Fact]
    public void Find_Diamond_ReturnsNull()
    {
        Assert.Null(CycleFinder.Find(Graph(("A", "B"), ("A", "C"), ("B", "D"), ("C", "D"), ("E", "D"))));
    }

    [Fact]
    public void Find_EdgeToItself_ReturnsIt()
    {
        Assert.Equal(["B", "B"], CycleFinder.Find(Graph(("A", "B"), ("B", "B"))));
    }

    [Fact]
    public void Read_ThreeNamespacesInALine_HasTheLineAndNoCycle()
    {
        var graph = Read("""
            namespace Sample.Low { public sealed class Low { } }
            namespace Sample.Mid { public sealed class Mid { public Sample.Low.Low? Below { get; set; } } }
            namespace Sample.High { public static class High { public static object Make() => new Sample.Mid.Mid(); } }
            """);

        Assert.Equal(["Sample.High", "Sample.Low", "Sample.Mid"], graph.Edges.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["Sample.Mid"], graph.Edges["Sample.High"]);
        Assert.Equal(["Sample.Low"], graph.Edges["Sample.Mid"]);
        Assert.Empty(graph.Edges["Sample.Low"]);
        Assert.Null(CycleFinder.Find(graph.Edges));
    }

    /// <summary>
    /// Namespace A refers to B by a property; B refers back to A in each way the graph must see. Each must close a cycle.
    /// </summary>
    [Theory]
    [InlineData("base type", "public class Back : Sample.A.Open { }")]
    [InlineData("interface", "public sealed class Back : Sample.A.IMarker { }")]
    [InlineData("generic constraint", "public sealed class Back<T> where T : Sample.A.Open { }")]
    [InlineData("custom attribute", "[Sample.A.Mark] public sealed class Back { }")]
    [InlineData("typeof in an attribute", "[System.ComponentModel.TypeConverter(typeof(Sample.A.Open))] public sealed class Back { }")]
    [InlineData("field", "public sealed class Back { private Sample.A.Open? _open; public override string ToString() => $\"{_open}\"; }")]
    [InlineData("property", "public sealed class Back { public Sample.A.Open[]? Open { get; set; } }")]
    [InlineData("parameter", "public static class Back { public static void Take(System.Collections.Generic.List<Sample.A.Open> list) { } }")]
    [InlineData("return type", "public static class Back { public static Sample.A.Open? Give() => null; }")]
    [InlineData("static call in a body", "public static class Back { public static int Count() => Sample.A.Open.Zero(); }")]
    [InlineData("field access in a body", "public static class Back { public static int Count() => Sample.A.Open.Seed; }")]
    [InlineData("cast in a body", "public static class Back { public static bool Test(object o) => o is Sample.A.Open; }")]
    [InlineData("lambda", "public static class Back { public static System.Func<int> Later() => () => Sample.A.Open.Zero(); }")]
    [InlineData("async method", "public static class Back { public static async System.Threading.Tasks.Task<int> LaterAsync() { await System.Threading.Tasks.Task.Yield(); return Sample.A.Open.Zero(); } }")]
    [InlineData("iterator", "public static class Back { public static System.Collections.Generic.IEnumerable<int> Items() { yield return Sample.A.Open.Zero(); } }")]
    [InlineData("nested type", "public static class Back { private sealed class Inner { public Sample.A.Open? Open; } }")]
    [InlineData("catch clause", "public static class Back { public static void Try() { try { } catch (Sample.A.OpenException) { } } }")]
    [InlineData("generic method argument", "public static class Back { public static object Make() => System.Array.Empty<Sample.A.Open>(); }")]
    public void Read_BackReferenceOfEachKind_ClosesACycle(string kind, string back)
    {
        var graph = Read($$"""
            namespace Sample.A
            {
                public interface IMarker { }
                public class Open { public static int Seed = 1; public static int Zero() => 0; }
                public sealed class MarkAttribute : System.Attribute { }
                public sealed class OpenException : System.Exception { }
                public sealed class Forward { public Sample.B.Anchor? Next { get; set; } }
            }
            namespace Sample.B
            {
                public sealed class Anchor { }
                {{back}}
            }
            """);

        var cycle = CycleFinder.Find(graph.Edges);

        Assert.True(cycle is ["Sample.A", "Sample.B", "Sample.A"], $"{kind}: {(cycle is null ? "no cycle" : string.Join(" → ", cycle))}");
    }

    private static Dictionary<string, IReadOnlySet<string>> Graph(params (string From, string To)[] edges) =>
        edges.SelectMany(e => new[] { e.From, e.To })
            .Distinct()
            .ToDictionary(n => n, n => (IReadOnlySet<string>)edges.Where(e => e.From == n).Select(e => e.To).ToHashSet());

    private static NamespaceGraph Read(string source)
    {
        var (diagnostics, image) = Compiler.Compile("Sample", OutputKind.DynamicallyLinkedLibrary, [CSharpSyntaxTree.ParseText(source, Compiler.ParseOptions)]);
        Assert.True(image is not null, string.Join("\n", diagnostics));
        using var stream = new MemoryStream(image);
        using var module = ModuleDefinition.ReadModule(stream);
        return NamespaceGraph.Read(module);
    }
}
