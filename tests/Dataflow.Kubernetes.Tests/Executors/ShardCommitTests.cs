using Dataflow.TestWorker;
using Xunit.Abstractions;

namespace Dataflow.Kubernetes.Tests.Executors;

/// <summary>
/// How the Kubernetes executor learns what its pods committed: from each pod's shard record (one listing and one read
/// per pod), not from each task's own records (a listing and a read per task). Runs a fan-in 2 merge of 512 inputs
/// (511 tasks) on the loopback API server, whose pods are processes of tests/Dataflow.TestWorker running their shards
/// through TaskWorker.RunAsync as a program's worker command does; the driver's store counts the driver's reads.
/// </summary>
public sealed class ShardCommitTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const int InputCount = 512;
    private const int Tasks = InputCount - 1;
    private const int TasksPerPod = 32;

    // 32 tasks per pod: 8, 4, 2 and six stages of 1 pod.
    private const int Pods = 20;

    private readonly TempFolder _folder = new();
    private readonly TempFolder _traces = new();
    private CountingStore _store = null!;
    private TestCluster _cluster = null!;
    private RunSummary _local = null!;
    private byte[] _expected = [];

    /// <summary>The same merge on the local executor first (in a store of its own), then the store and the cluster of the test.</summary>
    public async Task InitializeAsync()
    {
        using (var folder = new TempFolder())
        {
            var store = ObjectStore.OpenFolder(folder.Path);
            await Dataflow.Testing.Inputs.WriteAsync(store, InputCount);
            _local = (await new JobRunner(store, new JobRunnerOptions { RunId = "local", Report = false }).RunAsync(PoolTestJob.Create(_traces.Path))).Summary;
        }

        _store = new CountingStore(ObjectStore.OpenFolder(_folder.Path));
        _expected = await Dataflow.Testing.Inputs.WriteAsync(_store, InputCount);
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
    public async Task Run_ManyTasksInFewPods_DriverReadsCommitsPerPodNotPerTask()
    {
        var result = await RunAsync("sharded");

        Assert.Equal(_expected, await _store.ReadAllBytesAsync(PoolTestJob.Output));
        Assert.Equal(Pods, _cluster.Server.Pods.Count);
        var commits = new RunLayout("sharded").CommitsPrefix;
        var requests = _store.Count(commits);
        output.WriteLine($"{Tasks} tasks in {Pods} pods: the driver made {requests} requests for commit records ({_store.Count("list", commits)} listings, {_store.Count("read", commits)} reads)");

        // At most a listing and a read per pod (and a listing and a read for a pod of one task, whose task's own record
        // is its shard's): reading each task's records takes a listing and a read per task, 1,022.
        Assert.InRange(requests, 1, 2 * Pods);

        // The workers' bytes and attempts, from their commits: the same as the local executor's for the same job.
        Assert.Equal(_local.BytesRead, result.Summary.BytesRead);
        Assert.Equal(_local.BytesWritten, result.Summary.BytesWritten);
        Assert.True(result.Summary.BytesRead > 0);
        Assert.Equal(Tasks, result.Summary.Attempts);
        Assert.Equal(_local.Attempts, result.Summary.Attempts);
        Assert.Equal(0, result.Summary.Retries);

        // What the pods' attempts used, from their commits too: each counted its commit record's write at least, and
        // the run's requests are theirs and the driver's.
        var markers = (await CommitIndex.LoadAllAsync(_store, new RunLayout(result.Summary.RunId), CancellationToken.None)).Values;
        Assert.All(markers, m => Assert.True(m.Resources?.Requests?.Put >= 1, $"task {m.Task}: {m.Resources}"));
        var counted = StoreRequestCounts.Sum(markers.Select(m => m.Resources!.Requests));
        counted.Add(result.Summary.Resources!.Driver!.Requests);
        Assert.Equal(counted, result.Summary.Resources.Total.Requests);
    }

    [Fact]
    public async Task Run_TwoTasksOfAPodFailOnce_EachFailedAttemptIsCountedAndTheRetriedPodCommitsTheRest()
    {
        // Two tasks of the first pod of stage 0 fail on their first attempt: the pod fails (having committed its other
        // 30 tasks and stored a shard record that says which failed), and the Job runs that index again.
        await File.WriteAllTextAsync(PoolTestJob.FailOnceFile(_traces.Path, new TaskId(0, 3)), "");
        await File.WriteAllTextAsync(PoolTestJob.FailOnceFile(_traces.Path, new TaskId(0, 17)), "");

        var result = await RunAsync("failing-once");

        Assert.Equal(_expected, await _store.ReadAllBytesAsync(PoolTestJob.Output));
        var first = _cluster.Server.Pods.Where(p => p.JobName!.Contains("-s0-", StringComparison.Ordinal) && p.CompletionIndex == 0).ToList();
        Assert.Equal(2, first.Count);

        // Two attempts failed, one pod: a pod counted as one retry would say 512 attempts.
        Assert.Equal(Tasks + 2, result.Summary.Attempts);
        Assert.Equal(2, result.Summary.Retries);
        Assert.Equal(_local.BytesRead, result.Summary.BytesRead);
        Assert.Equal(_local.BytesWritten, result.Summary.BytesWritten);

        // The retried pod ran only the two tasks that failed: the other 30 were committed, and stay so (one commit each).
        Assert.All(TaskRecordsOfFirstShard(new RunLayout("failing-once")), t => Assert.Equal(1, t.Value));
        Assert.Equal(TasksPerPod, TaskRecordsOfFirstShard(new RunLayout("failing-once")).Count);
    }

    [Fact]
    public async Task Run_PodKilledHalfWayThroughItsShard_CommitsBeforeTheKillAreKeptAndCountedOnce()
    {
        // Task 5 of stage 0 hangs in the first pod; once the pod's other tasks have committed, the pod is killed, as a
        // node failure would. It leaves no shard record; the Job's next pod of that index finds 31 tasks committed.
        var hung = new TaskId(0, 5);
        var hang = PoolTestJob.HangFile(_traces.Path, hung, 1);
        await File.WriteAllTextAsync(hang, "");
        var killer = Task.Run(async () =>
        {
            var hanging = PoolTestJob.HangingFile(_traces.Path, hung);
            var layout = new RunLayout("killed");
            while (!File.Exists(hanging) || CommittedInFirstShard(layout) < TasksPerPod - 1)
            {
                await Task.Delay(20);
            }

            File.Delete(hang);
            var pod = _cluster.Server.Pods.Single(p => p.JobName!.Contains("-s0-", StringComparison.Ordinal) && p.CompletionIndex == 0);
            pod.Kill();
        });

        var result = await RunAsync("killed");
        await killer.WaitAsync(TestCluster.Timeout);

        Assert.Equal(_expected, await _store.ReadAllBytesAsync(PoolTestJob.Output));
        Assert.Equal(2, _cluster.Server.Pods.Count(p => p.JobName!.Contains("-s0-", StringComparison.Ordinal) && p.CompletionIndex == 0));

        // The 31 commits made before the kill were kept (the next pod skipped them) and the hung task committed once:
        // one commit each; the attempt killed in flight counts as one more.
        Assert.All(TaskRecordsOfFirstShard(new RunLayout("killed")), t => Assert.Equal(1, t.Value));
        Assert.Equal(TasksPerPod, TaskRecordsOfFirstShard(new RunLayout("killed")).Count);
        Assert.Equal(Tasks + 1, result.Summary.Attempts);
        Assert.Equal(1, result.Summary.Retries);
        Assert.Equal(_local.BytesRead, result.Summary.BytesRead);
        Assert.Equal(_local.BytesWritten, result.Summary.BytesWritten);
    }

    [Fact]
    public async Task Run_ATaskOfAPodFailsPermanently_ThePodExits2AndItsIndexIsNotRetried()
    {
        // Task 3 of stage 0 reads input 7, which makes the operator throw a PermanentTaskException: its pod exits 2, and
        // the Job's failure policy fails that index rather than start another pod (the pod retry limit is 3).
        await _store.PutAsync("input/00007.txt", System.Text.Encoding.ASCII.GetBytes(PoolTestJob.Poison + "permanent"));

        var failure = await Assert.ThrowsAsync<JobFailedException>(() => RunAsync("permanent"));

        output.WriteLine(failure.Message);
        var first = _cluster.Server.Pods.Where(p => p.JobName!.Contains("-s0-", StringComparison.Ordinal) && p.CompletionIndex == 0).ToList();
        var pod = Assert.Single(first);
        Assert.Equal(2, pod.ExitCode);
        Assert.Equal([1], PoolTestJob.TracedAttempts(_traces.Path).Where(a => a.Task == new TaskId(0, 3)).Select(a => a.Attempt));
        Assert.False(await _store.ExistsAsync(PoolTestJob.Output));

        // The error names the task that failed and its inputs (from the shard's record), not the shard's first task.
        Assert.Contains("task 0/3 (stage 0 'level-1', task 3, operator 'traced-concat', inputs 'input/00006.txt', 'input/00007.txt') failed permanently after 1 attempt", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FinishStep_AfterAShardedRun_SummaryFromShardRecordsReadingAboutOneObjectPerPod()
    {
        // The Argo workflow's exit handler (RunSteps.FinishAsync) writes the summary of a run whose driver saw no task:
        // from the pods' shard records, the same figures as the driver's.
        var result = await RunAsync("finished");
        var before = _store.Requests.Count;

        var summary = await RunSteps.FinishAsync(_store, "finished", succeeded: true, failure: null);

        var commits = new RunLayout("finished").CommitsPrefix;
        var reads = _store.Requests.Skip(before).Count(r => r.Verb == "read" && r.Key.StartsWith(commits, StringComparison.Ordinal));
        output.WriteLine($"finish step: {reads} commit records read for {Tasks} tasks in {Pods} pods");
        Assert.InRange(reads, 1, Pods);
        Assert.Equal(Tasks, summary.TasksRun);
        Assert.Equal(Tasks, summary.Attempts);
        Assert.Equal(0, summary.Retries);
        Assert.Equal(_local.BytesRead, summary.BytesRead);
        Assert.Equal(_local.BytesWritten, summary.BytesWritten);
        Assert.Equal(result.Summary.BytesRead, summary.BytesRead);

        // The attempts' requests, from their commits: the driver's total less its own share (there is no driver here).
        var attempts = StoreRequestCounts.Sum(RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(new RunLayout(summary.RunId).ReportKey)).Attempts.Select(a => a.Resources?.Requests));
        Assert.Equal(attempts, summary.Resources!.Total.Requests);
        Assert.Null(summary.Resources.Driver);
        Assert.True(attempts.Put >= Tasks, $"the pods' commits are not counted: {attempts}");
    }

    /// <summary>Tasks of the first shard of stage 0 with a commit record of their own.</summary>
    private int CommittedInFirstShard(RunLayout layout) => TaskRecordsOfFirstShard(layout).Count;

    /// <summary>The tasks of the first shard of stage 0 with commit records of their own, and how many each has.</summary>
    private Dictionary<int, int> TaskRecordsOfFirstShard(RunLayout layout)
    {
        var folder = Path.Combine(_folder.Path, layout.CommitsPrefix, "s0000");
        return !Directory.Exists(folder) ? [] : Directory.GetFiles(folder, "t*.json")
            .Select(f => int.Parse(Path.GetFileName(f)[1..7], System.Globalization.CultureInfo.InvariantCulture))
            .Where(t => t < TasksPerPod)
            .CountBy(t => t)
            .ToDictionary();
    }

    private async Task<RunResult> RunAsync(string runId)
    {
        var executor = new KubernetesExecutor(new KubernetesExecutorOptions
        {
            Client = _cluster.Client,
            Namespace = TestCluster.Namespace,
            Pods = TestCluster.TestWorkerPods(_traces.Path, TasksPerPod),
        });
        return await new JobRunner(_store, new JobRunnerOptions { RunId = runId, Executor = executor, Arguments = [], Report = false })
            .RunAsync(PoolTestJob.Create(_traces.Path))
            .WaitAsync(TimeSpan.FromMinutes(3), CancellationToken.None);
    }

}
