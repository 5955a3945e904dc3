using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Dataflow.EndToEnd.Tests;

/// <summary>Runs an example program, built next to the tests, as a child process — exactly as a user runs it.</summary>
internal static class ProgramRunner
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    /// <summary>
    /// The path of an example program's build (without <c>.dll</c>: its apphost), in the example's own output folder
    /// of this configuration. Not the copy next to the tests: this test project runs on the ASP.NET Core shared
    /// framework (the loopback API server), so the build leaves out of its folder the packages that framework also
    /// has (Microsoft.Extensions.Logging), which the programs, running on .NET alone, load from their folder.
    /// </summary>
    public static string ProgramPath(string program)
    {
        var tests = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (tests.Name, tests.Parent!.Name);
        var path = Path.Combine(Kubernetes.ClusterFixture.RepositoryRoot(), "examples", program, "bin", configuration, framework, program);
        return File.Exists(path + ".dll") ? path : throw new InvalidOperationException($"{path}.dll is missing: build the solution first");
    }

    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ProgramPath(program) + ".dll");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return info;
    }

    public static Task<ProgramResult> RunAsync(string program, params string[] args) => RunAsync(program, null, args);

    public static Task<ProgramResult> RunAsync(string program, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        WaitAsync(StartInfo(program, args, environment), Patience);

    /// <summary>
    /// Runs the executable <paramref name="file"/> (a published program, <c>dotnet</c> itself) to its end, in
    /// <paramref name="workingDirectory"/> when given, within <paramref name="patience"/> (default <see cref="Patience"/>).
    /// </summary>
    public static Task<ProgramResult> RunExecutableAsync(
        string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null, TimeSpan? patience = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return WaitAsync(info, patience ?? Patience);
    }

    private static async Task<ProgramResult> WaitAsync(ProcessStartInfo info, TimeSpan patience)
    {
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(patience);
        return new ProgramResult(process.ExitCode, await stdout, await stderr);
    }
}

internal sealed record ProgramResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Stdout);
        return document.RootElement.Clone();
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine($"exit code {ExitCode}").AppendLine("stdout:").AppendLine(Stdout).AppendLine("stderr:").AppendLine(Stderr);
        return text.ToString();
    }
}
