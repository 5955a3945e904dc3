namespace Dataflow.Core;

/// <summary>Which bytes of which job input object a task input covers.</summary>
/// <param name="Key">The object's key.</param>
/// <param name="Offset">The split's first byte.</param>
/// <param name="Length">The split's length.</param>
/// <param name="ObjectLength">The whole object's length.</param>
public sealed record InputSplit(string Key, long Offset, long Length, long ObjectLength)
{
    /// <summary>The first byte after the split.</summary>
    public long End => Offset + Length;

    /// <summary>True when the split is the whole object.</summary>
    public bool IsWholeObject => Offset == 0 && Length == ObjectLength;

    /// <summary>
    /// True when <paramref name="key"/> names a compressed object (<c>.gz</c>, <c>.zst</c>): it is decompressed as it
    /// is read, so it is never cut into byte-range splits.
    /// </summary>
    public static bool IsCompressed(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || key.EndsWith(".zst", StringComparison.OrdinalIgnoreCase);
    }
}
