using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// No source file of the tree (src/, tests/, benchmarks/, examples/) runs past <see cref="MaxLines"/> lines unless it holds one concept and says so: the XML
/// doc comment of its main type — the type named like the file (<c>DataflowApp.Runs.cs</c>: <c>DataflowApp</c>), else
/// its first type — contains the words "one concept", e.g.
/// <c>&lt;remarks&gt;One concept, kept in one file: the run report's page and its styles.&lt;/remarks&gt;</c>.
/// </summary>
public sealed class SourceFileLengthTests
{
    public const int MaxLines = 400;

    [Fact]
    public void SourceFiles_OfTheTree_AreShortOrSayTheyHoldOneConcept()
    {
        var files = new[] { "src", "tests", "benchmarks", "examples" }
            .Select(folder => Path.Combine(Repository.Root, folder))
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
                .Where(f => !Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")))
            .ToList();
        Assert.NotEmpty(files);

        var offenders = files
            .Select(f => (path: Path.GetRelativePath(Repository.Root, f), text: File.ReadAllText(f)))
            .Select(f => (f.path, f.text, lines: LineCount(f.text)))
            .Where(f => f.lines > MaxLines && !SaysOneConcept(f.path, f.text))
            .OrderByDescending(f => f.lines)
            .Select(f => $"{f.path}: {f.lines} lines")
            .ToList();

        Assert.True(offenders.Count == 0, $"""
            {offenders.Count} source file(s) have more than {MaxLines} lines; split them, or, if one holds one concept, say "one concept" in its main type's doc comment:
              {string.Join("\n  ", offenders)}
            """);
    }

    [Theory]
    [InlineData("Big.cs", "/// <summary>The big one.</summary>\n/// <remarks>One concept, kept in one file: a state machine.</remarks>\npublic sealed class Big { }", true)]
    [InlineData("Big.Part.cs", "namespace N;\n\n/// <summary>A part: one concept.</summary>\npublic partial class Big { }", true)]
    [InlineData("Big.cs", "/// <summary>Helpers.</summary>\ninternal static class Helpers { }\n/// <summary>The big one.</summary>\npublic record Big { }", false)]
    [InlineData("Big.cs", "// one concept\npublic sealed class Big { }", false)]
    [InlineData("Big.cs", "/// <summary>The big one.</summary>\npublic sealed class Big\n{\n    /// <summary>One concept.</summary>\n    public int Field;\n}", false)]
    [InlineData("Other.cs", "/// <summary>First; one   concept.</summary>\npublic interface IFirst { }\n/// <summary>Second.</summary>\npublic enum Second { }", true)]
    public void SaysOneConcept_MainTypeDocComment_IsRead(string file, string text, bool expected)
    {
        Assert.Equal(expected, SaysOneConcept(file, text));
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("a", 1)]
    [InlineData("a\n", 1)]
    [InlineData("a\nb", 2)]
    [InlineData("a\r\nb\r\n\n", 3)]
    public void LineCount_Text_CountsLinesAsAnEditorDoes(string text, int expected)
    {
        Assert.Equal(expected, LineCount(text));
    }

    internal static int LineCount(string text) =>
        text.Length == 0 ? 0 : text.Count(c => c == '\n') + (text.EndsWith('\n') ? 0 : 1);

    /// <summary>Whether the main type's doc comment in <paramref name="text"/> says "one concept" (any case, any spacing).</summary>
    internal static bool SaysOneConcept(string path, string text)
    {
        var root = CSharpSyntaxTree.ParseText(text, Compiler.ParseOptions.WithDocumentationMode(DocumentationMode.Parse)).GetRoot();
        var types = root.DescendantNodes(n => n is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax)
            .OfType<BaseTypeDeclarationSyntax>()
            .ToList();
        var name = Path.GetFileName(path).Split('.')[0];
        var main = types.FirstOrDefault(t => t.Identifier.ValueText == name) ?? types.FirstOrDefault();
        if (main is null)
        {
            return false;
        }

        var documentation = string.Concat(main.GetLeadingTrivia()
            .Where(t => t.IsKind(SyntaxKind.SingleLineDocumentationCommentTrivia) || t.IsKind(SyntaxKind.MultiLineDocumentationCommentTrivia))
            .Select(t => t.ToFullString()));
        var words = documentation.Split((char[])[' ', '\t', '\r', '\n', '/', '*', '<', '>', ',', '.', ':', ';'], StringSplitOptions.RemoveEmptyEntries);
        return words.Zip(words.Skip(1)).Any(pair =>
            pair.First.Equals("one", StringComparison.OrdinalIgnoreCase) && pair.Second.Equals("concept", StringComparison.OrdinalIgnoreCase));
    }
}
