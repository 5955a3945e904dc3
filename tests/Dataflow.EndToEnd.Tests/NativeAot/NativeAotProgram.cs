using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Dataflow.EndToEnd.Tests.NativeAot;

/// <summary>
/// merge-files compiled ahead of time, as deploy/Dockerfile's worker image compiles it: the Dockerfile's own
/// <c>dotnet publish … -p:PublishAot=true</c> line, run once per test run into a folder beside the tests (an
/// unchanged program is not compiled again on the next run). Needs clang and zlib's headers (scripts/native-aot.sh,
/// which ./test.sh runs).
/// </summary>
internal static partial class NativeAotProgram
{
    private static readonly Lazy<Task<string>> s_mergeFiles = new(() => PublishAsync("merge-files"));

    /// <summary>The Native AOT merge-files executable.</summary>
    public static Task<string> MergeFilesAsync() => s_mergeFiles.Value;

    /// <summary>The Dockerfile's publish command of the worker image, for <paramref name="project"/>, into <paramref name="output"/>.</summary>
    public static async Task<string[]> WorkerPublishArgumentsAsync(string project, string output)
    {
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(ClusterFixture.RepositoryRoot(), "deploy", "Dockerfile"));
        // An ARG of several stages has one default in all of them.
        var arguments = ArgDefault().Matches(dockerfile)
            .GroupBy(m => m.Groups["name"].Value, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(m => m.Groups["value"].Value).Distinct(StringComparer.Ordinal).Single(), StringComparer.Ordinal);
        var publish = PublishCommand().Matches(dockerfile).Select(m => m.Groups["args"].Value).SingleOrDefault(a => a.Contains("-p:PublishAot=true", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("deploy/Dockerfile has no 'RUN dotnet publish … -p:PublishAot=true' line");
        if (!publish.Contains("-o /app", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the Dockerfile's Native AOT publish does not write to /app: {publish}");
        }

        return
        [
            "publish",
            .. publish
                .Replace("\"$PROJECT\"", project, StringComparison.Ordinal)
                .Replace("$RID", arguments["RID"], StringComparison.Ordinal)
                .Replace("-o /app", $"-o {output}", StringComparison.Ordinal)
                .Split(' ', StringSplitOptions.RemoveEmptyEntries),
        ];
    }

    private static async Task<string> PublishAsync(string program)
    {
        var repository = ClusterFixture.RepositoryRoot();
        var output = Path.Combine(AppContext.BaseDirectory, "native-aot", program);
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = repository, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in await WorkerPublishArgumentsAsync(Path.Combine("examples", program, $"{program}.csproj"), output))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
        var executable = Path.Combine(output, program);
        if (process.ExitCode != 0 || !File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"dotnet {string.Join(' ', start.ArgumentList)} failed (exit code {process.ExitCode}; it needs scripts/native-aot.sh install):\n{await stdout}\n{await stderr}");
        }

        return executable;
    }

    [GeneratedRegex(@"^ARG (?<name>[A-Z_]+)=(?<value>\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ArgDefault();

    [GeneratedRegex(@"^RUN dotnet publish (?<args>.+)$", RegexOptions.Multiline)]
    private static partial Regex PublishCommand();
}
