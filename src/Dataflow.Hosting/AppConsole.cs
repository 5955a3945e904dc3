namespace Dataflow.Hosting;

/// <summary>Where a Dataflow program writes: stdout carries only the <c>--json</c> summary (and <c>--help</c>); everything for people goes to stderr.</summary>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
/// <param name="ErrorIsTerminal">Whether standard error is a terminal (live progress bars) or redirected (plain progress lines).</param>
public sealed record AppConsole(TextWriter Out, TextWriter Error, bool ErrorIsTerminal)
{
    /// <summary>The process's own console.</summary>
    public static AppConsole System => new(Console.Out, Console.Error, !Console.IsErrorRedirected);
}
