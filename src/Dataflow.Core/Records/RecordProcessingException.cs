namespace Dataflow.Core;

/// <summary>A mapper or reducer failed on a record; the message names the task, the object and the byte offset (or the key).</summary>
public sealed class RecordProcessingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RecordProcessingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
