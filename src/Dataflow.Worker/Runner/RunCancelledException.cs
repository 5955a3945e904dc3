namespace Dataflow.Worker;

/// <summary>
/// A run was cancelled. Nothing was published; what committed is kept, and <see cref="JobRunner.ResumeAsync"/> with
/// <see cref="RunId"/> goes on from it.
/// </summary>
public sealed class RunCancelledException : OperationCanceledException
{
    /// <summary>Creates the exception for run <paramref name="runId"/> of job <paramref name="job"/>.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="job">The job's name.</param>
    /// <param name="summary">
    /// What the run did before it was cancelled, as stored with it; <see langword="null"/> when it was cancelled before it
    /// had one (while planning). Its error, when it has one (who asked for a cancel made through
    /// <see cref="RunCatalog.RequestCancelAsync"/>), joins the message.
    /// </param>
    /// <param name="cancellationToken">The token that cancelled it.</param>
    public RunCancelledException(string runId, string job, RunSummary? summary, CancellationToken cancellationToken)
        : base($"run '{runId}' of job '{job}' was cancelled{(summary?.Error is { } why ? $" ({why})" : string.Empty)}; resume it with its run id", null, cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(job);
        RunId = runId;
        Job = job;
        Summary = summary;
    }

    /// <summary>The run, to resume with <see cref="JobRunner.ResumeAsync"/> or the <c>resume</c> command.</summary>
    public string RunId { get; }

    /// <summary>The job's name.</summary>
    public string Job { get; }

    /// <summary>What the run did before it was cancelled (status <c>cancelled</c>); <see langword="null"/> when it was cancelled while planning.</summary>
    public RunSummary? Summary { get; }
}
