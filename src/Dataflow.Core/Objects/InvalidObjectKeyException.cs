namespace Dataflow.Core;

/// <summary>An object key or prefix is not acceptable: it could escape a store's root or cannot be stored everywhere.</summary>
public sealed class InvalidObjectKeyException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="key"/>.</summary>
    public InvalidObjectKeyException(string key, string problem)
        : base($"invalid object key '{Printable(key)}': {problem}")
    {
        Key = key;
    }

    /// <summary>The key that was refused.</summary>
    public string Key { get; }

    private static string Printable(string key) => key.Replace("\0", "\\0", StringComparison.Ordinal);
}
