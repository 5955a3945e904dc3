namespace Dataflow.Core;

/// <summary>How <see cref="ObjectTaskContext.ConcatenateAsync"/> treats intermediate outputs.</summary>
public sealed class ConcatenationOptions
{
    /// <summary>The default: references of up to 1,024 pieces of any size.</summary>
    public static ConcatenationOptions Default { get; } = new();

    /// <summary>
    /// An intermediate output is kept as a reference to its pieces (no bytes copied) when every piece is at least
    /// this many bytes; otherwise its bytes are written. Default 0: always a reference, so a tree of any depth
    /// copies each byte once, at the final merge. <see cref="long.MaxValue"/> disables references (every level
    /// writes its bytes).
    /// </summary>
    public long MinReferenceSegmentBytes { get; init; }

    /// <summary>
    /// A reference is not kept once it would list more than this many pieces; the output's bytes are written instead.
    /// References list their pieces in full, so commit records grow with them. Default 1,024.
    /// </summary>
    public int MaxReferenceSegments { get; init; } = 1024;

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MinReferenceSegmentBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReferenceSegments, 1);
    }
}
