using Dataflow.TestWorker;

namespace Dataflow.Kubernetes.Tests.Executors;

/// <summary>
/// A cancel request (<see cref="RunCatalog.RequestCancelAsync"/>, what the live web UI does) made to a driver that
/// follows an Argo Workflow: the driver deletes the workflow, as on Ctrl+C, and stores the summary of a cancelled run
/// naming who asked. The workflow runs on the loopback API server; its pods are processes of tests/Dataflow.TestWorker.
/// </summary>
public sealed class CancelRequestTests : IAsyncLifetime, IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly TempFolder _traces = new();
    private IObjectStore _store = null!;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
        await Dataflow.Testing.Inputs.WriteAsync(_store, 8, size: 3);
        _cluster = await TestCluster.StartWithTestWorkerAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _store.DisposeAsync();
    }

    /// <summary>After <see cref="DisposeAsync"/>: the folders, once no pod writes to them.</summary>
    public void Dispose()
    {
        _folder.Dispose();
        _traces.Dispose();
    }

    [Fact]
    public async Task RequestCancelAsync_DriverFollowingAnArgoWorkflow_DeletesItAndStoresACancelledSummary()
    {
        var victim = new TaskId(0, 1);
        await File.WriteAllTextAsync(PoolTestJob.HangFile(_traces.Path, victim, attempt: 1), "");
        var executor = new ArgoExecutor(new KubernetesExecutorOptions
        {
            Client = _cluster.Client,
            Namespace = TestCluster.Namespace,
            Pods = TestCluster.TestWorkerPods(_traces.Path),
        });
        var options = new JobRunnerOptions { RunId = "argo-asked", Executor = executor, Arguments = [], CancelPollInterval = TimeSpan.FromMilliseconds(100) };
        var run = new JobRunner(_store, options).RunAsync(PoolTestJob.Create(_traces.Path));

        // Once a pod hangs in the task, and the driver holds the lease for its workflow.
        var hanging = PoolTestJob.HangingFile(_traces.Path, victim);
        var layout = new RunLayout("argo-asked");
        while (!File.Exists(hanging) || (await RunLease.ReadAsync(_store, layout, CancellationToken.None))?.Workflow is null)
        {
            Assert.False(run.IsCompleted, $"the run ended before task {victim} hung: {run.Exception}");
            await Task.Delay(20);
        }

        var request = await RunCatalog.RequestCancelAsync(_store, "argo-asked", "ui on test-host/9", "stop it");

        Assert.StartsWith("dataflow-", request.Workflow, StringComparison.Ordinal);
        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => run.WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Equal("cancelled", cancelled.Summary!.Status);
        Assert.StartsWith("cancelled on request of ui on test-host/9 at ", cancelled.Summary.Error, StringComparison.Ordinal);
        Assert.EndsWith(": stop it", cancelled.Summary.Error, StringComparison.Ordinal);
        var status = await RunCatalog.GetStatusAsync(_store, "argo-asked");
        Assert.Equal("cancelled", status!.Run.State);
        Assert.Equal(cancelled.Summary, status.Run.Summary);
        Assert.Contains(_cluster.Server.Requests, r => r is { Verb: "delete", Resource: "workflows", StatusCode: 200 });
        await Task.WhenAll(_cluster.Server.Pods.Select(p => p.Exited)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(await _store.ExistsAsync(PoolTestJob.Output));
    }
}
