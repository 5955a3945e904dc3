namespace Dataflow.Worker;

/// <summary>How an attempt of a task ended, as an executor reports it (see <see cref="TaskExecution.RecordAttempt"/>).</summary>
public enum AttemptOutcome
{
    /// <summary>The attempt committed: its outputs are the task's.</summary>
    Committed,

    /// <summary>The attempt failed (it may be retried).</summary>
    Failed,

    /// <summary>The run was cancelled or stopped while the attempt worked.</summary>
    Cancelled,
}
