namespace Dataflow.Core;

/// <summary>
/// The cause under the <see cref="InvalidDataException"/> a compressed job input that does not decompress raises (a
/// <c>.gz</c> object that is not valid gzip data, a <c>.zst</c> one that is not valid zstd data): reading the same bytes
/// again fails the same way, so a task that meets it fails permanently (see <see cref="Job.IsPermanentFailure"/>). The
/// outer exception's message names the object.
/// </summary>
internal sealed class CorruptInputException : Exception
{
    private CorruptInputException(Exception? innerException)
        : base("the object's bytes are corrupt: another attempt would read the same bytes", innerException)
    {
    }

    /// <summary>The exception to throw for a corrupt object: an <see cref="InvalidDataException"/> with <paramref name="message"/>, caused by a <see cref="CorruptInputException"/>.</summary>
    public static InvalidDataException Create(string message, Exception? innerException = null) =>
        new(message, new CorruptInputException(innerException));
}
