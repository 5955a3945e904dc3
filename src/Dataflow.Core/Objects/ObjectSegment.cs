namespace Dataflow.Core;

/// <summary>
/// A byte range of an object: <see cref="Length"/> bytes of <see cref="Key"/> from <see cref="Offset"/>, optionally of
/// one version of the object only (<see cref="ETag"/>).
/// </summary>
/// <param name="Key">The object's key.</param>
/// <param name="Offset">The first byte, from 0.</param>
/// <param name="Length">The number of bytes.</param>
public readonly record struct ObjectSegment(string Key, long Offset, long Length)
{
    /// <summary>
    /// The entity tag the object must have (as the store reported it when the object was written or listed), or
    /// <see langword="null"/> for whatever the object holds now. A store that reads or copies the segment refuses an
    /// object whose tag differs: its bytes may have changed since.
    /// </summary>
    public string? ETag { get; init; }

    /// <summary>The whole of an object of <paramref name="size"/> bytes.</summary>
    public static ObjectSegment Whole(string key, long size) => new(key, 0, size);

    /// <summary>Throws when the segment's numbers are out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The offset or length is negative, or their sum overflows.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Key);
        ArgumentOutOfRangeException.ThrowIfNegative(Offset);
        ArgumentOutOfRangeException.ThrowIfNegative(Length);
        if (Offset > long.MaxValue - Length)
        {
            throw new ArgumentOutOfRangeException(nameof(Length), $"segment of '{Key}' at {Offset} with length {Length} overflows");
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Key}[{Offset}..{Offset + Length})";
}
