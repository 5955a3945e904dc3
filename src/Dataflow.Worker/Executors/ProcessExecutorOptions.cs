using System.Reflection;

namespace Dataflow.Worker;

/// <summary>
/// How the process executor starts its pooled workers: the program (the same program that defines the job) and what it
/// passes besides the plan's address (task identities go through the pipe, never on the command line).
/// </summary>
public sealed class ProcessExecutorOptions
{
    /// <summary>
    /// The worker program and any leading arguments, e.g. <c>["/app/word-count"]</c> or
    /// <c>["dotnet", "/app/word-count.dll"]</c>. The executor appends <c>worker --plan &lt;uri&gt; --serve</c>.
    /// </summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>Arguments appended after <c>--serve</c>, e.g. the store's S3 options.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>
    /// Variables set for workers on top of the driver's own environment (which they inherit, credentials included; but
    /// not <see cref="WorkerEnvironment.Attempt"/>, <see cref="WorkerEnvironment.TraceParent"/> or
    /// <see cref="WorkerEnvironment.CompletionIndex"/>, which mean one task, and come with each task on the pipe).
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The command that starts the current program again: its executable, or <c>dotnet &lt;entry&gt;.dll</c> when it
    /// runs through the <c>dotnet</c> host.
    /// </summary>
    /// <exception cref="InvalidOperationException">The current process has no known executable or entry assembly.</exception>
    public static IReadOnlyList<string> CurrentProgram()
    {
        var process = System.Environment.ProcessPath
            ?? throw new InvalidOperationException("the path of the current program is unknown; give the worker command explicitly");
        var name = Path.GetFileNameWithoutExtension(process);
        if (!string.Equals(name, "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return [process];
        }

        // Only a program run by the dotnet host gets here (a single-file or Native AOT program is its own process):
        // its entry assembly is a file beside the host's other files.
        var entry = Assembly.GetEntryAssembly()?.GetName().Name is { } assembly
            ? Path.Combine(AppContext.BaseDirectory, assembly + ".dll")
            : null;
        if (entry is null || !File.Exists(entry))
        {
            throw new InvalidOperationException("the current program's entry assembly is unknown; give the worker command explicitly");
        }

        return [process, entry];
    }

    internal void Validate()
    {
        if (Command is null || Command.Count == 0 || string.IsNullOrWhiteSpace(Command[0]))
        {
            throw new ArgumentException("the process executor needs a worker command: the program to start, then any leading arguments", nameof(Command));
        }

        if (Command.Concat(ExtraArguments).Any(a => a is null))
        {
            throw new ArgumentException("the worker command and its extra arguments must not contain null", nameof(Command));
        }
    }
}
