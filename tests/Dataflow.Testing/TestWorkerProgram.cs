namespace Dataflow.Testing;

/// <summary>Where tests/Dataflow.TestWorker is built: the worker program that the process pool's and the cluster executors' tests run.</summary>
public static class TestWorkerProgram
{
    /// <summary>
    /// The test worker's assembly, built in its own output folder of the running tests' configuration and framework
    /// (see its project file), to run with <c>dotnet</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">It has not been built: the test project references it, so build that.</exception>
    public static string Path()
    {
        var tests = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(System.IO.Path.DirectorySeparatorChar));
        var (framework, configuration) = (tests.Name, tests.Parent!.Name);
        var root = tests;
        while (root is not null && !File.Exists(System.IO.Path.Combine(root.FullName, "Dataflow.sln")))
        {
            root = root.Parent;
        }

        var program = System.IO.Path.Combine(root?.FullName ?? "/", "tests", "Dataflow.TestWorker", "bin", configuration, framework, "Dataflow.TestWorker.dll");
        return File.Exists(program) ? program : throw new InvalidOperationException($"{program} is missing: build the test project, which references it, first");
    }
}
