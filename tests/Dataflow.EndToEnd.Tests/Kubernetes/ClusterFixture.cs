namespace Dataflow.EndToEnd.Tests.Kubernetes;

/// <summary>
/// A loopback Kubernetes API server that plays the Job and Argo Workflow controllers, running each pod as a process
/// of the example program built with the tests (as the image would: <c>/app/&lt;program&gt;</c>). Every call is
/// checked against the driver's Role as shipped in deploy/kubernetes/driver-rbac.yaml, and every Workflow against
/// Argo's official schema in strict mode. One per test: its request log counts the API calls of one run.
/// </summary>
internal sealed class ClusterFixture : IAsyncDisposable
{
    public const string Namespace = "dataflow";
    public const string StoreSecret = "dataflow-store";

    private ClusterFixture(FakeKubernetesApiServer server, string kubeconfig)
    {
        Server = server;
        Kubeconfig = kubeconfig;
    }

    public FakeKubernetesApiServer Server { get; }

    /// <summary>A kubeconfig file that points at the server, in namespace <see cref="Namespace"/>.</summary>
    public string Kubeconfig { get; }

    /// <summary>
    /// Starts a cluster whose RBAC is <paramref name="rbac"/>, by default the shipped driver Role. Its pods run the
    /// example programs built with the tests, or the executables <paramref name="images"/> gives for some of them
    /// (by program name: what <c>/app/&lt;program&gt;</c> is in the image).
    /// </summary>
    public static async Task<ClusterFixture> StartAsync(
        string folder, IReadOnlyDictionary<string, string>? storeSecret = null, string? rbac = null, IReadOnlyDictionary<string, string>? images = null)
    {
        var options = new FakeClusterOptions
        {
            Rbac = rbac ?? await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deploy", "kubernetes", "driver-rbac.yaml")),
            ValidateWorkflow = ArgoSchema.ValidateWorkflow,
        };
        foreach (var program in new[] { "merge-files", "word-count" })
        {
            // The program's apphost, as /app/<program> in the image built by deploy/Dockerfile.
            options.Commands[$"/app/{program}"] = [images?.GetValueOrDefault(program) ?? ProgramRunner.ProgramPath(program)];
        }

        if (storeSecret is not null)
        {
            options.AddSecret(Namespace, StoreSecret, storeSecret);
        }

        var server = await FakeKubernetesApiServer.StartAsync(options);
        var kubeconfig = Path.Combine(folder, $"kubeconfig-{Guid.NewGuid():N}");
        server.WriteKubeconfig(kubeconfig, Namespace);
        return new ClusterFixture(server, kubeconfig);
    }

    /// <summary>The options that send a run to this cluster with the given executor.</summary>
    public string[] Options(string executor, string program) =>
        ["--executor", executor, "--kubeconfig", Kubeconfig, "--image", $"registry.example/dataflow/{program}:test"];

    /// <summary>The API requests made so far, by verb and resource, e.g. <c>create jobs: 9</c>.</summary>
    public string DescribeRequests() =>
        string.Join(", ", Server.Requests
            .GroupBy(r => $"{r.Verb} {r.Resource}")
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {g.Count()}"));

    public ValueTask DisposeAsync() => Server.DisposeAsync();

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
