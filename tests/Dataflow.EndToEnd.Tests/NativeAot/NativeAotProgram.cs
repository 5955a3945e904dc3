namespace Dataflow.EndToEnd.Tests.NativeAot;

/// <summary>
/// merge-files compiled ahead of time, as deploy/Dockerfile's worker image compiles it: the Dockerfile's own
/// <c>dotnet publish … -p:PublishAot=true</c> line, run once per test run into a folder beside the tests (an
/// unchanged program is not compiled again on the next run). Needs clang and zlib's headers (scripts/native-aot.sh,
/// which ./test.sh runs).
/// </summary>
internal static class NativeAotProgram
{
    private static readonly Lazy<Task<string>> s_mergeFiles = new(PublishAsync);

    /// <summary>The Native AOT merge-files executable.</summary>
    public static Task<string> MergeFilesAsync() => s_mergeFiles.Value;

    private static async Task<string> PublishAsync()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "native-aot", "merge-files");
        var args = DeployDockerfile.PublishArguments(aot: true, output);
        var published = await ProgramRunner.RunExecutableAsync("dotnet", args, workingDirectory: ClusterFixture.RepositoryRoot(), patience: TimeSpan.FromMinutes(10));
        var executable = Path.Combine(output, "merge-files");
        if (published.ExitCode != 0 || !File.Exists(executable))
        {
            throw new InvalidOperationException($"dotnet {string.Join(' ', args)} failed (it needs scripts/native-aot.sh install): {published}");
        }

        return executable;
    }
}
