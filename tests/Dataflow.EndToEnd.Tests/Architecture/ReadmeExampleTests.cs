using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// Every <c>```csharp</c> block of README.md compiles as written — against the built Dataflow assemblies and .NET, as
/// in a console project with nullable enabled and the SDK's implicit usings — without errors or warnings. A block
/// with top-level statements compiles as a program, any other as a library; a fragment names what it needs in a
/// compile-with comment before it (see <see cref="ReadmeBlocks"/>).
/// </summary>
public sealed class ReadmeExampleTests
{
    private static readonly Lazy<IReadOnlyList<CodeBlock>> s_blocks =
        new(() => ReadmeBlocks.Parse(File.ReadAllText(Path.Combine(Repository.Root, "README.md"))));

    public static TheoryData<int> Blocks => new(s_blocks.Value.Select(b => b.FenceLine));

    [Fact]
    public void Readme_CSharpBlocks_AreFoundAndPrograms()
    {
        // The README's first example is a whole program; if the parser ever found no block, nothing would be checked.
        Assert.NotEmpty(s_blocks.Value);
        Assert.Equal(OutputKind.ConsoleApplication, Kind(Parse(s_blocks.Value[0])));
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void ReadmeBlock_AsWritten_Compiles(int fenceLine)
    {
        var block = s_blocks.Value.Single(b => b.FenceLine == fenceLine);
        var tree = Parse(block);
        var trees = new List<SyntaxTree> { tree, Compiler.GlobalUsings(block.Usings, "compile-with.g.cs") };
        foreach (var file in block.Files)
        {
            var path = Path.Combine(Repository.Root, file);
            Assert.True(File.Exists(path), $"README.md:{fenceLine}: compile-with names {file}, which does not exist");
            trees.Add(CSharpSyntaxTree.ParseText(File.ReadAllText(path), Compiler.ParseOptions, file));
        }

        var (diagnostics, _) = Compiler.Compile($"Readme{fenceLine}", Kind(tree), trees);

        var problems = diagnostics
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .Select(d => Describe(block, tree, d))
            .ToList();
        Assert.True(problems.Count == 0, $"the C# block on line {fenceLine} of README.md does not compile cleanly:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Parse_MarkdownWithDirectives_FindsCSharpBlocksOnlyWithWhatTheyName()
    {
        var blocks = ReadmeBlocks.Parse("""
            # Title

            ```sh
            dotnet run
            ```

            <!-- compile-with: examples/a.cs, using Dataflow.Core, using static A.B -->

            ```csharp
            var x = 1;
            ```

            ```
            plain
            ```

            ```csharp
            class C { }
            ```
            """);

        Assert.Collection(
            blocks,
            b =>
            {
                Assert.Equal(9, b.FenceLine);
                Assert.Equal("var x = 1;\n", b.Code);
                Assert.Equal(["examples/a.cs"], b.Files);
                Assert.Equal(["Dataflow.Core", "static A.B"], b.Usings);
                Assert.Equal(10, b.MarkdownLine(0));
            },
            b =>
            {
                Assert.Equal(17, b.FenceLine);
                Assert.Empty(b.Files);
                Assert.Empty(b.Usings);
            });
    }

    [Theory]
    [InlineData("<!-- compile-with: a.cs -->\n\nSome prose.\n\n```csharp\nclass C { }\n```\n")]
    [InlineData("<!-- compile-with: a.cs -->\n```sh\nls\n```\n")]
    [InlineData("text\n<!-- compile-with: a.cs -->\n")]
    [InlineData("<!-- compile-with a.cs -->\n```csharp\nclass C { }\n```\n")]
    [InlineData("```csharp\nclass C { }\n")]
    public void Parse_MisplacedDirectiveOrOpenBlock_Throws(string markdown)
    {
        Assert.Throws<FormatException>(() => ReadmeBlocks.Parse(markdown));
    }

    [Fact]
    public void Compile_BlockWithAnError_ReportsItsReadmeLine()
    {
        var block = new CodeBlock(40, "using Dataflow.Core;\n\nJob job = Job.Named(42);\n", [], []);
        var tree = Parse(block);

        var (diagnostics, image) = Compiler.Compile("Broken", Kind(tree), [tree]);

        Assert.Null(image);
        Assert.Contains(diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error), d => Describe(block, tree, d).StartsWith("README.md:43:", StringComparison.Ordinal));
    }

    private static SyntaxTree Parse(CodeBlock block) => CSharpSyntaxTree.ParseText(block.Code, Compiler.ParseOptions, "README.md");

    /// <summary>A program when it has top-level statements, else a library.</summary>
    private static OutputKind Kind(SyntaxTree tree) =>
        tree.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any() ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary;

    /// <summary>A diagnostic as <c>README.md:LINE:COLUMN: error CS0000: message</c>, or at its file's own line for other files.</summary>
    private static string Describe(CodeBlock block, SyntaxTree tree, Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetLineSpan();
        var where = !diagnostic.Location.IsInSource ? "(no source)"
            : diagnostic.Location.SourceTree == tree ? $"README.md:{block.MarkdownLine(span.StartLinePosition.Line)}:{span.StartLinePosition.Character + 1}"
            : $"{span.Path}:{span.StartLinePosition.Line + 1}:{span.StartLinePosition.Character + 1}";
        var severity = diagnostic.Severity.ToString().ToLowerInvariant();
        return $"{where}: {severity} {diagnostic.Id}: {diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }
}
