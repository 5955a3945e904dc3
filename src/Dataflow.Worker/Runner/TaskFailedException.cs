using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>A task failed on every attempt it was allowed. The message names the job, stage, task, operator, attempt count and the last error.</summary>
public sealed class TaskFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskFailedException(string job, TaskId task, string stage, string @operator, int attempts, Exception lastError)
        : base($"job '{job}': task {task} (stage {task.Stage} '{stage}', task {task.Index}, operator '{@operator}') failed after {attempts} attempt{(attempts == 1 ? "" : "s")}: {Describe(lastError)}", lastError)
    {
        Job = job;
        Task = task;
        Stage = stage;
        Operator = @operator;
        Attempts = attempts;
    }

    /// <summary>The job.</summary>
    public string Job { get; }

    /// <summary>The task that failed.</summary>
    public TaskId Task { get; }

    /// <summary>The name of its stage.</summary>
    public string Stage { get; }

    /// <summary>Its operator.</summary>
    public string Operator { get; }

    /// <summary>How many attempts were made.</summary>
    public int Attempts { get; }

    private static string Describe(Exception error) => error switch
    {
        TaskTimeoutException timeout => timeout.Message,
        _ => $"{error.GetType().Name}: {error.Message}",
    };
}
