namespace Dataflow.Testing;

/// <summary>
/// Where browser tests put the screenshots the README shows: in a temporary folder, unless
/// <see cref="UpdateVariable"/> is <c>1</c> — then in the repository's <c>docs/</c>, replacing the committed ones. So a
/// test run never rewrites files under docs/ unless asked (<c>DATAFLOW_UPDATE_SCREENSHOTS=1 dotnet test …</c>).
/// </summary>
public static class Screenshots
{
    /// <summary>The environment variable that, set to <c>1</c>, makes the tests write their screenshots to docs/.</summary>
    public const string UpdateVariable = "DATAFLOW_UPDATE_SCREENSHOTS";

    /// <summary>Whether this run writes the screenshots to docs/.</summary>
    public static bool UpdateDocs => Environment.GetEnvironmentVariable(UpdateVariable) == "1";

    /// <summary>
    /// Takes a screenshot of the session's window to <c>docs/<paramref name="name"/></c> (with <see cref="UpdateVariable"/>)
    /// or to a temporary folder, and checks that it is not a blank page. Returns the file's path.
    /// </summary>
    /// <param name="session">The browser.</param>
    /// <param name="name">The file's name, e.g. <c>ui-runs.png</c>.</param>
    /// <exception cref="InvalidOperationException">The screenshot has almost no colours: the page is blank.</exception>
    public static string Take(BrowserSession session, string name)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var folder = UpdateDocs
            ? Path.Combine(RepositoryRoot(), "docs")
            : Path.Combine(Path.GetTempPath(), "dataflow-screenshots");
        var path = Path.Combine(folder, name);
        session.Screenshot(path);
        var colours = PngImage.Read(path).Histogram().Count;
        if (colours < 20)
        {
            throw new InvalidOperationException($"the screenshot {path} has {colours} colours: is the page blank?");
        }

        return path;
    }

    /// <summary>The folder holding Dataflow.sln above the running tests.</summary>
    /// <exception cref="InvalidOperationException">There is none.</exception>
    public static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Dataflow.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no Dataflow.sln above {AppContext.BaseDirectory}");
    }
}
