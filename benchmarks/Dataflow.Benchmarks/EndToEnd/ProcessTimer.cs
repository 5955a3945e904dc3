using System.Diagnostics;
using System.Globalization;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>Runs a program as a whole process and times it, from just before it starts to its exit.</summary>
internal static class ProcessTimer
{
    /// <summary>
    /// The start of the merge-files example built next to this program (a ProjectReference copies it here): its
    /// apphost when there is one, as a user runs an installed program, otherwise <c>dotnet merge-files.dll</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The example is not next to this program.</exception>
    public static ProcessStartInfo MergeFiles(IEnumerable<string> args) => Example("merge-files", args);

    /// <summary>The start of the example program <paramref name="name"/> built next to this program, as <see cref="MergeFiles"/>.</summary>
    /// <exception cref="InvalidOperationException">The example is not next to this program.</exception>
    public static ProcessStartInfo Example(string name, IEnumerable<string> args)
    {
        var folder = AppContext.BaseDirectory;
        var apphost = Path.Combine(folder, OperatingSystem.IsWindows() ? name + ".exe" : name);
        var dll = Path.Combine(folder, name + ".dll");
        ProcessStartInfo start;
        if (File.Exists(apphost))
        {
            start = new ProcessStartInfo(apphost);
        }
        else if (File.Exists(dll))
        {
            start = new ProcessStartInfo("dotnet");
            start.ArgumentList.Add(dll);
        }
        else
        {
            throw new InvalidOperationException($"the {name} example is not in {folder}: build the benchmark project (dotnet build benchmarks/Dataflow.Benchmarks -c Release)");
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>A start of <paramref name="program"/> with <paramref name="args"/>.</summary>
    public static ProcessStartInfo Of(string program, params IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(program);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>Runs <paramref name="start"/> to its end, its output and errors captured, and returns its output with its wall time.</summary>
    /// <exception cref="InvalidOperationException">It could not start, or it exited with a code other than 0.</exception>
    public static async Task<(double Seconds, string Output)> RunAsync(string name, ProcessStartInfo start)
    {
        var (seconds, output, _) = await RunCapturedAsync(name, start).ConfigureAwait(false);
        return (seconds, output);
    }

    /// <summary>Runs <paramref name="start"/> to its end, its output and errors captured, and returns both with its wall time.</summary>
    /// <exception cref="InvalidOperationException">It could not start, or it exited with a code other than 0.</exception>
    public static async Task<(double Seconds, string Output, string Errors)> RunCapturedAsync(string name, ProcessStartInfo start)
    {
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{name}: could not start {start.FileName}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        clock.Stop();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{name} failed with exit code {process.ExitCode}: {await errors.ConfigureAwait(false)}{await output.ConfigureAwait(false)}");
        }

        return (clock.Elapsed.TotalSeconds, await output.ConfigureAwait(false), await errors.ConfigureAwait(false));
    }

    /// <summary><paramref name="program"/> with <paramref name="args"/>, under GNU time writing the peak RSS to <paramref name="memory"/> when it is installed.</summary>
    public static ProcessStartInfo Measured(ProcessStartInfo program, string memory, IEnumerable<string> args)
    {
        ProcessStartInfo start;
        if (File.Exists("/usr/bin/time"))
        {
            start = Of("/usr/bin/time", "-f", "%M", "-o", memory, program.FileName);
        }
        else
        {
            start = Of(program.FileName);
        }

        foreach (var arg in program.ArgumentList.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    public static long PeakKib(string memory)
    {
        if (!File.Exists(memory))
        {
            return 0;
        }

        var text = File.ReadAllText(memory).Trim().Split('\n')[^1];
        File.Delete(memory);
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib : 0;
    }
}
