using System.Text.RegularExpressions;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// The <c>```csharp</c> blocks of a Markdown file, each with what it needs to compile. A block that is a fragment —
/// it uses types another file defines, or namespaces it does not import — is preceded (blank lines between allowed)
/// by an HTML comment, invisible on the rendered page, that lists them, comma-separated: paths of C# files from the
/// repository's root, added to the block's compilation, and <c>using</c> directives, applied to the block:
/// <code>
/// &lt;!-- compile-with: examples/word-count/WordCountJob.cs, using Dataflow.Core, using static Dataflow.Examples.WordCount.WordCountJob --&gt;
/// ```csharp
/// </code>
/// </summary>
internal static partial class ReadmeBlocks
{
    /// <summary>Reads the blocks of <paramref name="markdown"/>; line numbers are 1-based.</summary>
    /// <exception cref="FormatException">A block is not closed, or a compile-with comment is malformed or precedes no C# block.</exception>
    public static IReadOnlyList<CodeBlock> Parse(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var lines = markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var blocks = new List<CodeBlock>();
        (int Line, string[] Items)? directive = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (Directive().Match(line) is { Success: true } match)
            {
                directive = directive is null
                    ? (i + 1, match.Groups["items"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    : throw new FormatException($"line {i + 1}: a second compile-with comment; the one on line {directive.Value.Line} precedes no C# block");
                continue;
            }

            if (line.Contains("compile-with", StringComparison.Ordinal))
            {
                throw new FormatException($"line {i + 1}: a compile-with comment must read '<!-- compile-with: file.cs, using Namespace -->' on one line: {line}");
            }

            if (!line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                if (directive is not null && line.Trim().Length > 0)
                {
                    throw new FormatException($"line {directive.Value.Line}: a compile-with comment must come right before a ```csharp block");
                }

                continue;
            }

            var language = line.Trim()[3..].Trim();
            var end = Array.FindIndex(lines, i + 1, l => l.Trim() == "```");
            if (end < 0)
            {
                throw new FormatException($"line {i + 1}: the code block is not closed");
            }

            if (language == "csharp")
            {
                var items = directive?.Items ?? [];
                blocks.Add(new CodeBlock(
                    i + 1,
                    string.Join('\n', lines[(i + 1)..end]) + "\n",
                    [.. items.Where(item => !item.StartsWith("using ", StringComparison.Ordinal))],
                    [.. items.Where(item => item.StartsWith("using ", StringComparison.Ordinal)).Select(item => item["using ".Length..].Trim())]));
            }
            else if (directive is not null)
            {
                throw new FormatException($"line {directive.Value.Line}: a compile-with comment precedes a ```{language} block, which is not compiled");
            }

            directive = null;
            i = end;
        }

        return directive is null ? blocks : throw new FormatException($"line {directive.Value.Line}: a compile-with comment precedes no C# block");
    }

    [GeneratedRegex(@"^\s*<!--\s*compile-with:(?<items>.*?)-->\s*$")]
    private static partial Regex Directive();
}

/// <summary>A <c>```csharp</c> block.</summary>
/// <param name="FenceLine">The line of its opening fence; its code starts on the next line.</param>
/// <param name="Code">Its code.</param>
/// <param name="Files">C# files, from the repository's root, to compile with it.</param>
/// <param name="Usings">Namespaces (or <c>static</c> types) it uses without a using directive of its own.</param>
internal sealed record CodeBlock(int FenceLine, string Code, IReadOnlyList<string> Files, IReadOnlyList<string> Usings)
{
    /// <summary>The line in the Markdown file of a 0-based line of <see cref="Code"/>.</summary>
    public int MarkdownLine(int codeLine) => FenceLine + 1 + codeLine;
}
