using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Dataflow.Core;
using Dataflow.Worker;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Dataflow.Kubernetes;

/// <summary>
/// Runs a plan on Kubernetes: one Indexed Job per stage (completion index → a shard of the stage's tasks), created
/// through the API and watched to completion. As each pod completes, the driver reads the commits of its tasks — from
/// the shard record the pod stored (one listing and one read per pod, not per task), which also gives their bytes and
/// attempts — so progress and garbage collection follow the pods; a stage starts when the one before has completed.
/// Cancelling deletes the running Job and its pods.
/// </summary>
public sealed partial class KubernetesExecutor : TaskExecutor
{
    private const int ParallelCommitReads = 8;

    /// <summary>How long creating a Job may take.</summary>
    internal static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(60);

    private readonly KubernetesExecutorOptions _options;

    /// <summary>Creates the executor.</summary>
    /// <param name="options">The cluster, namespace and pods.</param>
    public KubernetesExecutor(KubernetesExecutorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <inheritdoc/>
    public override string Name => "kubernetes";

    /// <inheritdoc/>
    public override bool DefinesJobFromArguments => true;

    /// <inheritdoc/>
    public override void Validate() => _options.Validate();

    /// <inheritdoc/>
    public override async Task ExecuteAsync(TaskExecution execution, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        await execution.WhenLeaseConfirmedAsync(cancellationToken).ConfigureAwait(false);
        var plan = execution.Plan;
        for (var s = 0; s < plan.Stages.Count; s++)
        {
            var stage = s;
            if (Enumerable.Range(0, plan.Stages[s].Tasks.Count).Any(t => !execution.IsCommitted(new TaskId(stage, t))))
            {
                await new StageRun(execution, _options, s).RunAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Replaces a manifest's <c>metadata.name</c> with a <c>generateName</c> of it: a resumed run creates its Jobs or
    /// Workflow again while the old ones may still exist. The server's 5 random characters keep it within 63.
    /// </summary>
    internal static void UseGenerateName(JsonObject manifest)
    {
        var metadata = manifest["metadata"]!.AsObject();
        var name = metadata["name"]!.GetValue<string>();
        metadata.Remove("name");
        metadata["generateName"] = (name.Length > 57 ? name[..57].TrimEnd('-') : name) + "-";
    }

    /// <summary>The tasks each pod of a Job runs: its worker's <c>--shard-size</c>.</summary>
    internal static int ShardSize(JsonObject job)
    {
        var args = job["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        var at = args.IndexOf("--shard-size");
        return at >= 0 && at + 1 < args.Count ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : 1;
    }

    /// <summary>Parses an Indexed Job's <c>completedIndexes</c>/<c>failedIndexes</c>, e.g. <c>1,3-5,7</c>.</summary>
    internal static IEnumerable<int> ParseIndexes(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            yield break;
        }

        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var first = int.Parse(dash < 0 ? part : part[..dash], CultureInfo.InvariantCulture);
            var last = dash < 0 ? first : int.Parse(part[(dash + 1)..], CultureInfo.InvariantCulture);
            for (var i = first; i <= last; i++)
            {
                yield return i;
            }
        }
    }

    private sealed partial class StageRun(TaskExecution execution, KubernetesExecutorOptions options, int stage)
    {
        private readonly HashSet<int> _completed = [];
        private int _failedPods;
        private int _failedRecords;
        private int _countedFailedPods;
        private int _shardSize = 1;
        private string _name = string.Empty;

        private Plan Plan => execution.Plan;

        private int TaskCount => Plan.Stages[stage].Tasks.Count;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var manifest = KubernetesJobEmitter.EmitStage(Plan, stage, execution.PlanUri, options.Pods);
            _shardSize = ShardSize(manifest);

            UseGenerateName(manifest);
            var body = KubernetesJson.Deserialize<V1Job>(manifest.ToJsonString());
            V1Job job;
            using (var timeout = new CancellationTokenSource(CreateTimeout))
            {
                // Not cancelled midway: a Job the server created but whose name never reached us could not be deleted.
                job = await options.Client.BatchV1.CreateNamespacedJobAsync(body, options.Namespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            }

            _name = job.Metadata.Name;
            var finished = false;
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                finished = await FollowAsync(job, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (!finished)
                {
                    // Cancelled or broken off: the Job's pods must not go on running (and committing) without a driver.
                    await DeleteJobAsync().ConfigureAwait(false);
                }
            }
        }

        /// <summary>Watches the Job until it completes (true) or fails (throws).</summary>
        private async Task<bool> FollowAsync(V1Job job, CancellationToken cancellationToken)
        {
            var resourceVersion = job.Metadata.ResourceVersion;
            while (true)
            {
                if (await TakeInAsync(job, cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }

                try
                {
                    var watch = options.Client.BatchV1.WatchListNamespacedJobAsync(
                        options.Namespace,
                        fieldSelector: $"metadata.name={_name}",
                        resourceVersion: resourceVersion,
                        timeoutSeconds: (int)options.WatchTimeout.TotalSeconds,
                        cancellationToken: cancellationToken);
                    await foreach (var (type, changed) in watch.ConfigureAwait(false))
                    {
                        if (type == WatchEventType.Error || changed?.Metadata is null)
                        {
                            // E.g. 410 Gone: the resource version is too old. Read the Job afresh.
                            break;
                        }

                        if (type == WatchEventType.Deleted)
                        {
                            throw new InvalidOperationException($"Job {_name} of stage {stage} '{Plan.Stages[stage].Name}' was deleted by someone else while it ran");
                        }

                        job = changed;
                        resourceVersion = job.Metadata.ResourceVersion;
                        if (await TakeInAsync(job, cancellationToken).ConfigureAwait(false))
                        {
                            return true;
                        }
                    }
                }
                catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Gone)
                {
                    // The resource version is too old: read the Job afresh.
                }

                // The watch ended (its timeout, a dropped connection, or a stale version): read the Job and watch again from there.
                job = await options.Client.BatchV1.ReadNamespacedJobAsync(_name, options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                resourceVersion = job.Metadata.ResourceVersion;
            }
        }

        /// <summary>Takes in what the Job's status says: newly completed pods' commits, retries; true when the Job has completed.</summary>
        private async Task<bool> TakeInAsync(V1Job job, CancellationToken cancellationToken)
        {
            var status = job.Status;
            if (status is null)
            {
                return false;
            }

            _failedPods = Math.Max(_failedPods, status.Failed ?? 0);
            await RecordFailedPodsAsync(cancellationToken).ConfigureAwait(false);
            var fresh = ParseIndexes(status.CompletedIndexes).Where(_completed.Add).ToList();
            await TakeInShardsAsync(fresh, cancellationToken).ConfigureAwait(false);

            var conditions = status.Conditions ?? [];
            if (conditions.Any(c => c.Type == "Failed" && c.Status == "True"))
            {
                CountKilledPods();
                throw await FailureAsync(job, conditions.First(c => c.Type == "Failed"), cancellationToken).ConfigureAwait(false);
            }

            if (conditions.Any(c => c.Type == "Complete" && c.Status == "True"))
            {
                // Every task of the stage has committed now; pick up any the status did not list.
                var shards = (int)((TaskCount + (long)_shardSize - 1) / _shardSize);
                await TakeInShardsAsync([.. Enumerable.Range(0, shards).Where(_completed.Add)], cancellationToken).ConfigureAwait(false);
                await TakeInTasksAsync(Enumerable.Range(0, TaskCount), cancellationToken).ConfigureAwait(false);
                CountKilledPods();
                return true;
            }

            return false;
        }

        /// <summary>
        /// Counts an attempt for each failed pod that left no shard record (killed, or it could not store one): the
        /// task it was running did not commit there. Failed pods that stored one have their failed attempts counted from it.
        /// </summary>
        private void CountKilledPods()
        {
            for (; _countedFailedPods < _failedPods - _failedRecords; _countedFailedPods++)
            {
                execution.AttemptStarted(stage, isRetry: true);
            }
        }

        private IEnumerable<int> Shard(int index)
        {
            var first = (long)index * _shardSize;
            for (var t = first; t < Math.Min(first + _shardSize, TaskCount); t++)
            {
                yield return (int)t;
            }
        }

        /// <summary>
        /// Takes in the commits of the tasks of completed pods <paramref name="indexes"/>: from each pod's shard record
        /// (one listing and one read per pod, whatever its number of tasks), and any task a record does not hold from
        /// its own records.
        /// </summary>
        private async Task TakeInShardsAsync(List<int> indexes, CancellationToken cancellationToken)
        {
            var shards = indexes.Select(i => Shard(i).ToList()).Where(tasks => tasks.Any(t => !execution.IsCommitted(new TaskId(stage, t)))).ToList();
            var found = new ShardCommits?[shards.Count];
            await Parallel.ForEachAsync(
                Enumerable.Range(0, shards.Count).Where(i => shards[i].Count > 1),
                new ParallelOptions { MaxDegreeOfParallelism = ParallelCommitReads, CancellationToken = cancellationToken },
                async (i, token) => found[i] = await execution.FindShardCommitsAsync(stage, shards[i][0], shards[i][^1], token).ConfigureAwait(false)).ConfigureAwait(false);
            foreach (var shard in found.OfType<ShardCommits>())
            {
                _failedRecords += shard.FailedRecords;
                foreach (var commit in shard.Commits.Where(c => !execution.IsCommitted(c.Task)))
                {
                    await TakeInAsync(commit, cancellationToken).ConfigureAwait(false);
                }
            }

            // A pod of one task writes no shard record (its task's own record is one); nor does a worker of an earlier build.
            await TakeInTasksAsync(shards.SelectMany(tasks => tasks), cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Takes in the commits of <paramref name="tasks"/> that are not taken in yet, each read from its own records.</summary>
        private async Task TakeInTasksAsync(IEnumerable<int> tasks, CancellationToken cancellationToken)
        {
            var ids = tasks.Select(t => new TaskId(stage, t)).Where(id => !execution.IsCommitted(id)).Distinct().ToList();
            if (ids.Count == 0)
            {
                return;
            }

            var commits = new TaskCommit?[ids.Count];
            await Parallel.ForEachAsync(
                Enumerable.Range(0, ids.Count),
                new ParallelOptions { MaxDegreeOfParallelism = ParallelCommitReads, CancellationToken = cancellationToken },
                async (i, token) => commits[i] = await execution.FindCommitAsync(ids[i], token).ConfigureAwait(false)).ConfigureAwait(false);
            for (var i = 0; i < ids.Count; i++)
            {
                await TakeInAsync(
                    commits[i] ?? throw new InvalidOperationException($"task {ids[i]} of stage '{Plan.Stages[stage].Name}' has no commit record, though Job {_name} says its pod completed"),
                    cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Takes in one task's commit: the run report's bar, its attempts and bytes, and the commit itself.</summary>
        private async Task TakeInAsync(TaskCommit commit, CancellationToken cancellationToken)
        {
            Record(commit);
            for (var attempt = 0; attempt < commit.Attempts; attempt++)
            {
                execution.AttemptStarted(stage, isRetry: attempt > 0);
            }

            execution.AddBytes(commit.BytesRead, commit.BytesWritten);
            await execution.CommittedAsync(commit, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// Adds a task that committed in a pod to the run report: its bar is the attempt's time as the marker states it
        /// (on the pod's clock), on the row of its pod's completion index.
        /// </summary>
        private void Record(TaskCommit commit)
        {
            var end = (commit.CommittedAt - execution.ReportStartedAt).TotalMilliseconds;
            execution.RecordCommittedAttempt(
                commit,
                execution.ReportRow(commit.Worker ?? string.Create(CultureInfo.InvariantCulture, $"{_name} #{commit.Task.Index / _shardSize}")),
                end - commit.Duration.TotalMilliseconds,
                end);
        }

        private async Task DeleteJobAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await options.Client.BatchV1.DeleteNamespacedJobAsync(_name, options.Namespace, propagationPolicy: "Background", cancellationToken: timeout.Token).ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
            {
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or OperationCanceledException)
            {
                // Best effort: the Job's ttlSecondsAfterFinished or its deadline ends it; its pods' commits are harmless to a resumed run.
            }
        }
    }
}
