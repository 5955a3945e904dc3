using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Dataflow.EndToEnd.Tests;

/// <summary>Runs an example program, built next to the tests, as a child process — exactly as a user runs it.</summary>
internal static class ProgramRunner
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, program + ".dll"));
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

    public static async Task<ProgramResult> RunAsync(string program, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(program, args, environment))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Patience);
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
