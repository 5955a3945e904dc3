namespace Dataflow.Worker;

/// <summary>A run failed: a task failed for good, or publishing failed. No final output was published.</summary>
public sealed class JobFailedException : Exception
{
    /// <summary>Creates the exception with the failed run's summary and the cause.</summary>
    public JobFailedException(RunSummary summary, Exception cause)
        : base(cause is TaskFailedException ? cause.Message : $"job '{summary?.Job}', run '{summary?.RunId}' failed: {cause?.Message}", cause)
    {
        ArgumentNullException.ThrowIfNull(summary);
        Summary = summary;
    }

    /// <summary>What the run did before it failed (status <c>failed</c>), as stored with it.</summary>
    public RunSummary Summary { get; }

    /// <summary>The run, to resume with <see cref="JobRunner.ResumeAsync"/> or the <c>resume</c> command once the cause is fixed.</summary>
    public string RunId => Summary.RunId;
}
