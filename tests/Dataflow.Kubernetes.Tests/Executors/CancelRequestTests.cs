using Dataflow.TestWorker;

namespace Dataflow.Kubernetes.Tests.Executors;

/// <summary>
/// A cancel request (<see cref="RunCatalog.RequestCancelAsync"/>, what the live web UI does) made to a driver that
/// follows an Argo Workflow: the driver deletes the workflow, as on Ctrl+C, and stores the summary of a cancelled run
/// naming who asked. The workflow runs on the loopback API server; its pods are processes of tests/Dataflow.TestWorker.
/// </summary>
public sealed class CancelRequestTests
{
    [Fact]
    public async Task RequestCancelAsync_DriverFollowingAnArgoWorkflow_DeletesItAndStoresACancelledSummary()
    {
        // Disposed in reverse: the cluster (its pods) first, then the store, then the folders they wrote to.
        using var folder = new TempFolder();
        using var traces = new TempFolder();
        await using var store = ObjectStore.OpenFolder(folder.Path);
        await Dataflow.Testing.Inputs.WriteAsync(store, 8, size: 3);
        await using var cluster = await TestCluster.StartWithTestWorkerAsync();
        var victim = new TaskId(0, 1);
        await File.WriteAllTextAsync(PoolTestJob.HangFile(traces.Path, victim, attempt: 1), "");
        var executor = new ArgoExecutor(new KubernetesExecutorOptions
        {
            Client = cluster.Client,
            Namespace = TestCluster.Namespace,
            Pods = TestCluster.TestWorkerPods(traces.Path),
        });
        var options = new JobRunnerOptions { RunId = "argo-asked", Executor = executor, Arguments = [], CancelPollInterval = TimeSpan.FromMilliseconds(100) };
        var run = new JobRunner(store, options).RunAsync(PoolTestJob.Create(traces.Path));

        // Once a pod hangs in the task, and the driver holds the lease for its workflow.
        var hanging = PoolTestJob.HangingFile(traces.Path, victim);
        var layout = new RunLayout("argo-asked");
        while (!File.Exists(hanging) || (await RunLease.ReadAsync(store, layout, CancellationToken.None))?.Workflow is null)
        {
            Assert.False(run.IsCompleted, $"the run ended before task {victim} hung: {run.Exception}");
            await Task.Delay(20);
        }

        var request = await RunCatalog.RequestCancelAsync(store, "argo-asked", "ui on test-host/9", "stop it");

        Assert.StartsWith("dataflow-", request.Workflow, StringComparison.Ordinal);
        var cancelled = await Assert.ThrowsAsync<RunCancelledException>(() => run.WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Equal("cancelled", cancelled.Summary!.Status);
        Assert.StartsWith("cancelled on request of ui on test-host/9 at ", cancelled.Summary.Error, StringComparison.Ordinal);
        Assert.EndsWith(": stop it", cancelled.Summary.Error, StringComparison.Ordinal);
        var status = await RunCatalog.GetStatusAsync(store, "argo-asked");
        Assert.Equal("cancelled", status!.Run.State);
        Assert.Equal(cancelled.Summary, status.Run.Summary);
        Assert.Contains(cluster.Server.Requests, r => r is { Verb: "delete", Resource: "workflows", StatusCode: 200 });
        await Task.WhenAll(cluster.Server.Pods.Select(p => p.Exited)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(await store.ExistsAsync(PoolTestJob.Output));
    }
}
