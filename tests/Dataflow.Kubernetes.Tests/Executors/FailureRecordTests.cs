using Dataflow.TestWorker;

namespace Dataflow.Kubernetes.Tests.Executors;

/// <summary>
/// A pod that fails is recorded by the driver as a failed attempt as soon as its Job counts it: a failure record of the
/// run (what a live view of the running run shows) naming the pod and its exit code, and a failed attempt in the run
/// report. On the loopback API server; the pods are processes of tests/Dataflow.TestWorker.
/// </summary>
public sealed class FailureRecordTests
{
    [Fact]
    public async Task Run_PodFailsOnceThenItsRetrySucceeds_TheFailedPodIsAFailureRecordOfItsTask()
    {
        // Disposed in reverse: the cluster (its pods) first, then the store, then the folders they wrote to.
        using var folder = new TempFolder();
        using var traces = new TempFolder();
        await using var store = ObjectStore.OpenFolder(folder.Path);
        var expected = await Dataflow.Testing.Inputs.WriteAsync(store, 4, size: 3);
        await using var cluster = await TestCluster.StartWithTestWorkerAsync();
        var victim = new TaskId(0, 1);
        await File.WriteAllTextAsync(PoolTestJob.FailOnceFile(traces.Path, victim), "");
        var pods = TestCluster.TestWorkerPods(traces.Path);
        pods.RetryLimit = 2;
        var executor = new KubernetesExecutor(new KubernetesExecutorOptions { Client = cluster.Client, Namespace = TestCluster.Namespace, Pods = pods });

        var result = await new JobRunner(store, new JobRunnerOptions { RunId = "pods", Executor = executor, Arguments = [] })
            .RunAsync(PoolTestJob.Create(traces.Path))
            .WaitAsync(TimeSpan.FromMinutes(2), CancellationToken.None);

        Assert.Equal(expected, await store.ReadAllBytesAsync(PoolTestJob.Output));
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
}
