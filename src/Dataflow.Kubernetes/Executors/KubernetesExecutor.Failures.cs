using System.Globalization;
using Dataflow.Core;
using Dataflow.Worker;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Dataflow.Kubernetes;

/// <summary>How a stage's failed Job is told: the task that failed, its inputs and attempts, and its pod's last lines.</summary>
public sealed partial class KubernetesExecutor
{
    private sealed partial class StageRun
    {
        private const string CompletionIndexAnnotation = "batch.kubernetes.io/job-completion-index";

        private readonly HashSet<string> _podsRecorded = new(StringComparer.Ordinal);
        private readonly Dictionary<int, int> _podFailuresOfShard = [];
        private int _failedPodsRecorded;

        /// <summary>
        /// Records each pod of the stage's Job that failed since the last look as a failed attempt — in the run's failure
        /// records (what a live view of the running run shows) and its report — as the Job's status counts it: the task
        /// its shard's first that has not committed, the error the pod's exit code and reason, the worker the pod.
        /// Best effort: pods that cannot be listed are not recorded, and fail nothing.
        /// </summary>
        private async Task RecordFailedPodsAsync(CancellationToken cancellationToken)
        {
            if (_failedPods <= _failedPodsRecorded)
            {
                return;
            }

            _failedPodsRecorded = _failedPods;
            V1PodList pods;
            try
            {
                pods = await options.Client.CoreV1.ListNamespacedPodAsync(options.Namespace, labelSelector: $"batch.kubernetes.io/job-name={_name}", cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
            {
                return;
            }

            foreach (var pod in pods.Items.Where(p => p.Status?.Phase == "Failed" && _podsRecorded.Add(p.Metadata.Name)).OrderBy(p => p.Metadata.CreationTimestamp))
            {
                var index = pod.Metadata.Annotations?.TryGetValue(CompletionIndexAnnotation, out var text) == true
                    && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : 0;
                var tasks = Shard(index).ToList();
                if (tasks.Count == 0)
                {
                    continue;
                }

                var task = new TaskId(stage, tasks.FirstOrDefault(t => !execution.IsCommitted(new TaskId(stage, t)), tasks[0]));
                var attempt = _podFailuresOfShard[index] = _podFailuresOfShard.GetValueOrDefault(index) + 1;
                var terminated = pod.Status.ContainerStatuses?.FirstOrDefault()?.State?.Terminated;
                var endMs = terminated?.FinishedAt is { } finished ? ReportMs(finished) : execution.ReportNow;
                var startMs = (terminated?.StartedAt ?? pod.Status.StartTime) is { } started ? Math.Min(ReportMs(started), endMs) : endMs;
                execution.RecordAttempt(
                    task,
                    attempt,
                    execution.ReportRow(pod.Metadata.Name),
                    startMs,
                    endMs,
                    AttemptOutcome.Failed,
                    error: string.Create(CultureInfo.InvariantCulture, $"pod {pod.Metadata.Name} of Job {_name} failed: exit code {terminated?.ExitCode} ({terminated?.Reason ?? pod.Status.Reason})"));
            }
        }

        /// <summary><paramref name="time"/> (UTC, as the API gives it) on the run report's clock.</summary>
        private double ReportMs(DateTime time) =>
            (new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)) - execution.ReportStartedAt).TotalMilliseconds;

        private async Task<Exception> FailureAsync(V1Job job, V1JobCondition condition, CancellationToken cancellationToken)
        {
            var failedIndexes = ParseIndexes(job.Status.FailedIndexes).ToList();
            var firstTask = failedIndexes.Count > 0 ? Shard(failedIndexes[0]).FirstOrDefault() : Enumerable.Range(0, TaskCount).FirstOrDefault(t => !execution.IsCommitted(new TaskId(stage, t)));
            var what = $"Job {_name} failed ({condition.Reason}: {condition.Message})";
            if (failedIndexes.Count > 0)
            {
                what += string.Create(CultureInfo.InvariantCulture, $"; failed pod indexes {job.Status.FailedIndexes} ({_shardSize} tasks each)");
            }

            what += await LastFailedPodAsync(cancellationToken).ConfigureAwait(false);

            // The failed shard's records name the task that failed, its attempts and whether a pod found the failure
            // permanent: the error names that task and its inputs, not the shard's first task.
            if (failedIndexes.Count > 0 && await FailedTaskAsync(failedIndexes[0], cancellationToken).ConfigureAwait(false) is { } failed)
            {
                return new TaskFailedException(Plan, failed.Task, Math.Max(1, failed.Attempts), new WorkerProcessException(what), failed.Permanent);
            }

            var id = new TaskId(stage, firstTask);
            return new TaskFailedException(Plan.Job, id, Plan.Stages[stage].Name, Plan.GetTask(id).Operator, (job.Spec.BackoffLimitPerIndex ?? 0) + 1, new WorkerProcessException(what));
        }

        /// <summary>The first task of shard <paramref name="index"/> that its pods' shard records say failed, or <see langword="null"/> when they say none or cannot be read.</summary>
        private async Task<ShardFailure?> FailedTaskAsync(int index, CancellationToken cancellationToken)
        {
            var tasks = Shard(index).ToList();
            if (tasks.Count == 0)
            {
                return null;
            }

            try
            {
                var shard = await execution.FindShardCommitsAsync(stage, tasks[0], tasks[^1], cancellationToken).ConfigureAwait(false);
                return shard.Failed.Count > 0 ? shard.Failed[0] : null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The records only sharpen the message: without them, the failure is told as the Job tells it.
                return null;
            }
        }

        /// <summary>The exit code and last log lines of the Job's most recently failed pod, as far as they can be read.</summary>
        private async Task<string> LastFailedPodAsync(CancellationToken cancellationToken)
        {
            try
            {
                var pods = await options.Client.CoreV1.ListNamespacedPodAsync(options.Namespace, labelSelector: $"batch.kubernetes.io/job-name={_name}", cancellationToken: cancellationToken).ConfigureAwait(false);
                var pod = pods.Items.Where(p => p.Status?.Phase == "Failed").OrderBy(p => p.Metadata.CreationTimestamp).LastOrDefault();
                if (pod is null)
                {
                    return string.Empty;
                }

                var terminated = pod.Status.ContainerStatuses?.FirstOrDefault()?.State?.Terminated;
                using var log = await options.Client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, options.Namespace, tailLines: 20, cancellationToken: cancellationToken).ConfigureAwait(false);
                using var reader = new StreamReader(log);
                var lines = (await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false)).TrimEnd();
                return string.Create(CultureInfo.InvariantCulture, $"; pod {pod.Metadata.Name} exited with code {terminated?.ExitCode} ({terminated?.Reason}){(lines.Length == 0 ? string.Empty : $", its last lines:{Environment.NewLine}{lines}")}");
            }
            catch (HttpOperationException ex)
            {
                return $"; its pods could not be read: {ex.Message}";
            }
        }
    }
}
