using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using Dataflow.Benchmarks.S3;

namespace Dataflow.Benchmarks;

/// <summary>
/// What the end-to-end verbs (<c>s3</c>, <c>wordcount</c>) share: each case runs in a child process of this program
/// (the verb's internal case verb), which settles its memory after a warm-up, times one operation and prints what it
/// measured as one line of JSON; the parent parses the options, reads that line back, and reports medians over the
/// repetitions as Markdown.
/// </summary>
internal static class EndToEndRunner
{
    /// <summary>Bytes in a MiB, as a <see cref="double"/> for the figures.</summary>
    public const double MiB = 1 << 20;

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>
    /// Parses a verb's options with <paramref name="parse"/>. A mistake in them (or in the environment the verb needs)
    /// is printed to the standard error, prefixed with the verb's name and followed by <paramref name="usage"/>: exit
    /// code 2; <c>--help</c> prints the usage to the standard output: exit code 0. Either way the verb is done.
    /// </summary>
    /// <returns>The options, or <see langword="null"/> when the verb is done with <paramref name="exitCode"/>.</returns>
    public static TOptions? ParseOrExplain<TOptions>(string verb, string usage, string[] args, Func<string[], TOptions> parse, out int exitCode)
        where TOptions : class, IVerbOptions
    {
        TOptions options;
        try
        {
            options = parse(args);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine(verb + ": " + ex.Message);
            Console.Error.WriteLine(usage);
            exitCode = 2;
            return null;
        }

        exitCode = 0;
        if (options.Help)
        {
            Console.WriteLine(usage);
            return null;
        }

        return options;
    }

    /// <summary>
    /// Runs a verb; a failure it expects (a check that did not hold, the store, the file system) is printed to the
    /// standard error, prefixed with the verb's name: exit code 1.
    /// </summary>
    public static async Task<int> ReportFailuresAsync(string verb, Func<Task<int>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectStoreException or IOException)
        {
            await Console.Error.WriteLineAsync(verb + ": " + ex.Message).ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>
    /// The command line of a verb as <c>--name value</c> pairs, checked against the names the verb knows.
    /// </summary>
    /// <exception cref="ArgumentException">An argument is not such a pair, or its name is not one of <paramref name="known"/>.</exception>
    public static Dictionary<string, string> ParseOptions(string[] args, params string[] known)
    {
        var named = ParseNamed(args);
        if (named.Keys.FirstOrDefault(k => !known.Contains(k, StringComparer.Ordinal)) is { } unknown)
        {
            throw new ArgumentException($"unknown option '--{unknown}'");
        }

        return named;
    }

    /// <summary>The command line as <c>--name value</c> pairs (a later pair of the same name wins).</summary>
    /// <exception cref="ArgumentException">An argument is not such a pair.</exception>
    public static Dictionary<string, string> ParseNamed(string[] args)
    {
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"unexpected argument '{args[i]}'");
            }

            named[args[i][2..]] = args[++i];
        }

        return named;
    }

    /// <summary>
    /// Runs one case in a child process, this program with <paramref name="args"/> (the case verb first), and returns the
    /// result it printed: its last output line that is a JSON object. The child's errors go to this process's.
    /// </summary>
    /// <exception cref="InvalidOperationException">The child could not start, failed, or printed no result.</exception>
    public static async Task<TResult> RunChildAsync<TResult>(string name, int rep, IEnumerable<string> args)
        where TResult : class
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, UseShellExecute = false };
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this program is unknown");
        start.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            // Run as "dotnet Dataflow.Benchmarks.dll": the child needs the assembly too.
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start a child process");
        var output = await child.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await child.WaitForExitAsync().ConfigureAwait(false);
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"{name} (repetition {rep}) failed with exit code {child.ExitCode}; its errors are above. Output: {output}");
        }

        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
        return (line is null ? null : JsonSerializer.Deserialize<TResult>(line, s_json))
            ?? throw new InvalidOperationException($"{name} (repetition {rep}) printed no result: {output}");
    }

    /// <summary>The child's side of <see cref="RunChildAsync"/>: prints <paramref name="result"/> as one line of JSON.</summary>
    public static void PrintResult<TResult>(TResult result) => Console.WriteLine(JsonSerializer.Serialize(result, s_json));

    /// <summary>
    /// In the child, after the warm-up and just before the timed operation: a full garbage collection, then the
    /// resident memory (returned), and the peak reset to it, so that <see cref="ProcessMemory.Peak"/> covers the
    /// operation alone.
    /// </summary>
    public static long SettleMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var resident = ProcessMemory.Resident();
        ProcessMemory.ResetPeak();
        return resident;
    }

    /// <summary>The machine, for a report: cores, operating system and .NET version, followed by "; ".</summary>
    public static string Machine() =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; ");

    /// <summary>The load averages at the start and the end of a run, for a report (a sentence).</summary>
    public static string LoadAverages((string Start, string End) load) =>
        string.Create(CultureInfo.InvariantCulture, $"load average (1, 5, 15 min) at the start {load.Start}, at the end {load.End}.");

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count; NaN for none).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>
    /// The system's load averages over 1, 5 and 15 minutes, as <c>uptime</c> prints them (from <c>/proc/loadavg</c>):
    /// how busy the cores were with other work.
    /// </summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}

/// <summary>The options of an end-to-end verb (see <see cref="EndToEndRunner.ParseOrExplain"/>).</summary>
internal interface IVerbOptions
{
    /// <summary>Whether <c>-h</c> or <c>--help</c> was given: print the usage and do nothing else.</summary>
    bool Help { get; }
}
