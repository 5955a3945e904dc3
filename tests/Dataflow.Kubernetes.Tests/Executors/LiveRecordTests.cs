using Dataflow.TestWorker;

namespace Dataflow.Kubernetes.Tests.Executors;

/// <summary>
/// The records a live view of a running run reads, for the cluster executors: a cancel request
/// (<see cref="RunCatalog.RequestCancelAsync"/>) made to a driver that follows an Argo Workflow deletes the workflow, as
/// Ctrl+C does, and the stored summary names who asked; a pod of the Kubernetes executor that fails is stored as a
/// failure record as soon as its Job counts it. On the loopback API server; the pods are processes of
/// tests/Dataflow.TestWorker.
/// </summary>
public sealed class LiveRecordTests
{
    [Fact]
    public async Task RequestCancelAsync_DriverFollowingAnArgoWorkflow_DeletesItAndStoresACancelledSummary()
    {
        await using var setup = await Setup.StartAsync();
        var (store, cluster, traces) = (setup.Store, setup.Cluster, setup.Traces.Path);
        var victim = new TaskId(0, 1);
        await File.WriteAllTextAsync(PoolTestJob.HangFile(traces, victim, attempt: 1), "");
        var executor = new ArgoExecutor(new KubernetesExecutorOptions { Client = cluster.Client, Namespace = TestCluster.Namespace, Pods = TestCluster.TestWorkerPods(traces) });
        var options = new JobRunnerOptions { RunId = "argo-asked", Executor = executor, Arguments = [], CancelPollInterval = TimeSpan.FromMilliseconds(100) };
        var run = new JobRunner(store, options).RunAsync(PoolTestJob.Create(traces));

        // Once a pod hangs in the task, and the driver holds the lease for its workflow.
        var hanging = PoolTestJob.HangingFile(traces, victim);
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

    [Fact]
    public async Task Run_PodFailsOnceThenItsRetrySucceeds_TheFailedPodIsAFailureRecordOfItsTask()
    {
        await using var setup = await Setup.StartAsync();
        var (store, cluster, traces) = (setup.Store, setup.Cluster, setup.Traces.Path);
        var victim = new TaskId(0, 1);
        await File.WriteAllTextAsync(PoolTestJob.FailOnceFile(traces, victim), "");
        var pods = TestCluster.TestWorkerPods(traces);
        pods.RetryLimit = 2;
        var executor = new KubernetesExecutor(new KubernetesExecutorOptions { Client = cluster.Client, Namespace = TestCluster.Namespace, Pods = pods });

        var result = await new JobRunner(store, new JobRunnerOptions { RunId = "pods", Executor = executor, Arguments = [] })
            .RunAsync(PoolTestJob.Create(traces))
            .WaitAsync(TimeSpan.FromMinutes(2), CancellationToken.None);

        Assert.Equal(setup.Expected, await store.ReadAllBytesAsync(PoolTestJob.Output));
        var failures = await RunFailures.ReadAsync(store, "pods", 10, CancellationToken.None);
        var failure = Assert.Single(failures.Failures);
        Assert.Equal(victim, failure.Task);
        Assert.Equal(1, failure.Attempt);
        Assert.Contains(failure.Worker, cluster.Server.Pods.Select(p => p.Name));
        Assert.Contains($"pod {failure.Worker} of Job ", failure.Error, StringComparison.Ordinal);
        Assert.Contains("failed: exit code ", failure.Error, StringComparison.Ordinal);
        Assert.True(failure.StartedAt <= failure.EndedAt);
        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(new RunLayout("pods").ReportKey));
        var failed = Assert.Single(report.Attempts, a => a.Outcome == AttemptOutcomes.Failed);
        Assert.Equal((victim.Stage, victim.Index), (failed.Stage, failed.Task));
        Assert.Equal(1, result.Summary.Retries);
    }

    /// <summary>A store of 4 inputs in a folder, a folder for the pods' traces, and the cluster; disposed in reverse.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        private Setup(IObjectStore store, byte[] expected, TestCluster cluster, TempFolder folder)
        {
            Store = store;
            Expected = expected;
            Cluster = cluster;
            Folder = folder;
        }

        public TempFolder Folder { get; }

        public TempFolder Traces { get; } = new();

        public IObjectStore Store { get; }

        /// <summary>The inputs' concatenation: what the job writes.</summary>
        public byte[] Expected { get; }

        public TestCluster Cluster { get; }

        public static async Task<Setup> StartAsync()
        {
            var folder = new TempFolder();
            var store = ObjectStore.OpenFolder(folder.Path);
            var expected = await Dataflow.Testing.Inputs.WriteAsync(store, 4, size: 3);
            return new Setup(store, expected, await TestCluster.StartWithTestWorkerAsync(), folder);
        }

        /// <summary>The cluster (its pods) first, then the store, then the folders they wrote to.</summary>
        public async ValueTask DisposeAsync()
        {
            await Cluster.DisposeAsync();
            await Store.DisposeAsync();
            Traces.Dispose();
            Folder.Dispose();
        }
    }
}
