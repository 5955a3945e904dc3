using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// Compiles C# in memory with Roslyn as a <c>Microsoft.NET.Sdk</c> project that references Dataflow.Hosting would:
/// nullable enabled, the SDK's implicit usings, against .NET's assemblies and the built Dataflow assemblies with
/// every package they bring.
/// </summary>
internal static class Compiler
{
    /// <summary>The usings <c>ImplicitUsings</c> gives a console project of <c>Microsoft.NET.Sdk</c>.</summary>
    public static readonly string[] ImplicitUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(LoadReferences);

    /// <summary>
    /// The references: .NET's own assemblies (those of the trusted platform assemblies in the runtime's folder, not
    /// ASP.NET Core's, which this test project runs on) and the six Dataflow assemblies with the assemblies they
    /// reference, transitively, as this process would load them.
    /// </summary>
    public static ImmutableArray<MetadataReference> References => s_references.Value;

    /// <summary>A syntax tree of <c>global using</c> directives for <paramref name="namespaces"/>.</summary>
    public static SyntaxTree GlobalUsings(IEnumerable<string> namespaces, string path = "GlobalUsings.g.cs") =>
        CSharpSyntaxTree.ParseText(string.Concat(namespaces.Select(n => $"global using {n};\n")), ParseOptions, path);

    /// <summary>Compiles <paramref name="trees"/>, with the implicit usings, into an assembly image.</summary>
    public static (ImmutableArray<Diagnostic> Diagnostics, byte[]? Image) Compile(string name, OutputKind kind, IEnumerable<SyntaxTree> trees)
    {
        var compilation = CSharpCompilation.Create(
            name,
            [GlobalUsings(ImplicitUsings), .. trees],
            References,
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        return (result.Diagnostics, result.Success ? image.ToArray() : null);
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar);
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .ToList();
        var framework = trusted.Where(p => Path.GetDirectoryName(p) == runtime).ToList();
        var byName = trusted.GroupBy(p => Path.GetFileNameWithoutExtension(p), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        var frameworkNames = framework.Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.OrdinalIgnoreCase);

        // The Dataflow assemblies and, transitively, what they reference that is not .NET's own.
        var paths = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Queue<string>(Repository.SourceProjects);
        while (pending.TryDequeue(out var name))
        {
            if (!seen.Add(name) || frameworkNames.Contains(name))
            {
                continue;
            }

            // A package the ASP.NET Core shared framework also has is not copied next to the tests: that one is loaded.
            var path = Repository.SourceProjects.Contains(name) ? Repository.SourceAssembly(name) : Path.Combine(Repository.TestFolder, name + ".dll");
            if (!File.Exists(path) && !byName.TryGetValue(name, out path))
            {
                continue; // not deployed: nothing the Dataflow assemblies run needs it
            }

            paths.Add(path);
            using var file = File.OpenRead(path);
            using var reader = new PEReader(file);
            var metadata = reader.GetMetadataReader();
            foreach (var handle in metadata.AssemblyReferences)
            {
                pending.Enqueue(metadata.GetString(metadata.GetAssemblyReference(handle).Name));
            }
        }

        return [.. framework.Concat(paths).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }
}
