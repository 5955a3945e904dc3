namespace Dataflow.Hosting.Tests;

/// <summary>
/// What tests of a program's command line share: a temporary folder (the store goes in <see cref="StorePath"/>) and
/// the program's stdout and stderr, captured (<see cref="Console"/>).
/// </summary>
public abstract class ConsoleTests : IDisposable
{
    protected TempFolder Folder { get; } = new();

    protected StringWriter Out { get; } = new();

    protected StringWriter Error { get; } = new();

    protected string StorePath => Path.Combine(Folder.Path, "store");

    protected string[] ErrorLines => Error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A console that writes to <see cref="Out"/> and <see cref="Error"/>, not a terminal.</summary>
    protected AppConsole Console => new(Out, Error, ErrorIsTerminal: false);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Folder.Dispose();
            Out.Dispose();
            Error.Dispose();
        }
    }
}
