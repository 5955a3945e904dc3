using System.Globalization;

namespace Dataflow.Storage;

/// <summary>
/// The one form of entity tags every store reports (<see cref="ObjectInfo.ETag"/>): a quoted string, as HTTP and S3
/// write them (<c>"9b2cf535f27731c974343645a3985328"</c>). Tags are compared as strings, so each store reports the same
/// form from every call; a tag given back without its quotes is accepted.
/// </summary>
internal static class EntityTag
{
    /// <summary>
    /// The quoted form of <paramref name="tag"/> (a server's tag with or without quotes), or <see langword="null"/>
    /// for none.
    /// </summary>
    public static string? Normalize(string? tag)
    {
        if (string.IsNullOrWhiteSpace(tag))
        {
            return null;
        }

        tag = tag.Trim();
        return tag.StartsWith('"') || tag.StartsWith("W/\"", StringComparison.Ordinal) ? tag : '"' + tag + '"';
    }

    /// <summary>True when the tags name the same version (their normal forms are equal).</summary>
    public static bool Matches(string expected, string? actual) =>
        string.Equals(Normalize(expected), Normalize(actual), StringComparison.Ordinal);

    /// <summary>
    /// A folder's tag of a file: its modification time (UTC, in 100 ns ticks) and its size, in hex. It changes
    /// whenever a write updates the file's time or size; a file whose time was set back after its bytes changed
    /// (<c>cp -p</c>, <c>touch -r</c>) with the same size keeps the tag.
    /// </summary>
    public static string OfFile(DateTime lastWriteTimeUtc, long size) =>
        string.Create(CultureInfo.InvariantCulture, $"\"{lastWriteTimeUtc.Ticks:x}-{size:x}\"");
}
