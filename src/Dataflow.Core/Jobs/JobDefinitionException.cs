namespace Dataflow.Core;

/// <summary>
/// A job, its options or a plan made from it is not valid. The message names the job and what is wrong.
/// </summary>
/// <remarks>
/// These errors are the user's to fix (a fan-in of 1, widths that grow, an operator the program does not
/// register); command-line hosts report them as usage errors.
/// </remarks>
public sealed class JobDefinitionException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="jobName"/>.</summary>
    /// <param name="jobName">The job the error belongs to; <see langword="null"/> when it has no name yet.</param>
    /// <param name="problem">What is wrong, as a sentence fragment that follows the job's name.</param>
    public JobDefinitionException(string? jobName, string problem)
        : base(jobName is null ? $"job: {problem}" : $"job '{jobName}': {problem}")
    {
        JobName = jobName;
    }

    /// <summary>The job the error belongs to, when it has a name.</summary>
    public string? JobName { get; }
}
