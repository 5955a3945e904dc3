namespace Dataflow.Worker;

/// <summary>
/// An input could not be read as it was committed or listed: the object holding its bytes (<see cref="ObjectKey"/>)
/// is missing, is not the version that was recorded, or its bytes fail verification (size, checksum). Trying the same
/// read again cannot help: a committed intermediate must be made again (its commit set aside, its task run again),
/// and a job input that changed fails the run.
/// </summary>
internal sealed class InputLostException : IOException
{
    public InputLostException(string objectKey, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ObjectKey = objectKey;
    }

    /// <summary>The object whose bytes are missing or bad.</summary>
    public string ObjectKey { get; }

    /// <summary>The input-lost error in <paramref name="error"/> or its causes, if there is one.</summary>
    public static InputLostException? Find(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is InputLostException lost)
            {
                return lost;
            }
        }

        return null;
    }
}
