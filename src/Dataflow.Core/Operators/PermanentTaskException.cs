namespace Dataflow.Core;

/// <summary>
/// Thrown by an operator (or a mapper, reducer or combiner) for a failure that another attempt cannot mend — a
/// malformed input, a record that breaks the job's rules: the task fails at once, without the retries that a
/// transient failure gets, and the run fails with a message naming the task, its inputs and this exception's message.
/// Wrap the cause as <see cref="Exception.InnerException"/> to keep it. To make whole exception types permanent
/// without catching them, see <see cref="JobBuilder.FailPermanentlyOn"/>.
/// </summary>
public sealed class PermanentTaskException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PermanentTaskException()
        : base("the task failed permanently")
    {
    }

    /// <summary>Creates the exception with what went wrong.</summary>
    /// <param name="message">What went wrong; the task's failure names the task and its inputs around it.</param>
    public PermanentTaskException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with what went wrong and its cause.</summary>
    /// <param name="message">What went wrong; the task's failure names the task and its inputs around it.</param>
    /// <param name="innerException">The cause.</param>
    public PermanentTaskException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
