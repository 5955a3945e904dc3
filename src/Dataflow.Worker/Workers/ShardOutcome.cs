namespace Dataflow.Worker;

/// <summary>How a one-shot worker's run of its tasks (a pod's shard) ended (<see cref="TaskWorker.RunAsync"/>): what its exit code says.</summary>
public enum ShardOutcome
{
    /// <summary>Every task is committed, now or before. A worker exits 0.</summary>
    Succeeded,

    /// <summary>A task failed; another attempt may succeed. A worker exits 1, and its pod is retried.</summary>
    Failed,

    /// <summary>
    /// A task failed in a way its job says trying again will not change (<see cref="Dataflow.Core.Job.IsPermanentFailure"/>, a
    /// <see cref="Dataflow.Core.PermanentTaskException"/>): the shard cannot succeed. A worker exits 2, which pods' failure policy
    /// and Argo's retry expression do not retry.
    /// </summary>
    FailedPermanently,
}
