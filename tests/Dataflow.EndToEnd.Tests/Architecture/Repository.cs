namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>Where the architecture tests find the repository's sources and the built assemblies and programs.</summary>
internal static class Repository
{
    /// <summary>The Dataflow projects under src/, each with the one namespace of its name.</summary>
    public static readonly string[] SourceProjects =
        ["Dataflow.Core", "Dataflow.Planner", "Dataflow.Storage", "Dataflow.Worker", "Dataflow.Kubernetes", "Dataflow.Hosting"];

    /// <summary>The repository's root: the first folder above the tests' base directory that holds Dataflow.sln.</summary>
    public static string Root { get; } = Kubernetes.ClusterFixture.RepositoryRoot();

    /// <summary>The tests' output folder: <c>bin/&lt;configuration&gt;/&lt;framework&gt;</c>.</summary>
    public static string TestFolder { get; } = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);

    /// <summary>The configuration these tests were built in (Release, Debug).</summary>
    public static string Configuration => Directory.GetParent(TestFolder)!.Name;

    /// <summary>The target framework these tests were built for (net10.0).</summary>
    public static string Framework => Path.GetFileName(TestFolder);

    /// <summary>The output folder of a project of this repository in the tests' configuration and framework.</summary>
    public static string OutputFolder(params string[] projectFolder) =>
        Path.Combine([Root, .. projectFolder, "bin", Configuration, Framework]);

    /// <summary>
    /// A src project's built assembly: the copy next to the tests (this project references every one of them through
    /// the examples), else the project's own output folder.
    /// </summary>
    public static string SourceAssembly(string project)
    {
        var candidates = new[] { Path.Combine(TestFolder, project + ".dll"), Path.Combine(OutputFolder("src", project), project + ".dll") };
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"{project}.dll is built neither in {candidates[0]} nor in {candidates[1]}: build the solution first");
    }
}
