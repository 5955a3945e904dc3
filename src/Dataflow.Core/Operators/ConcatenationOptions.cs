namespace Dataflow.Operators;

/// <summary>How <see cref="ObjectTaskContext.ConcatenateAsync"/> treats intermediate outputs.</summary>
public sealed class ConcatenationOptions
{
    /// <summary>The default: references for pieces of 1 MiB and more.</summary>
    public static ConcatenationOptions Default { get; } = new();

    /// <summary>
    /// An intermediate output is kept as a reference to its pieces (no bytes copied) when every piece is at least
    /// this many bytes; otherwise its bytes are written. Small pieces are cheaper to copy than to track, and on S3
    /// a server-side copy needs parts of 5 MiB. Default 1 MiB; <see cref="long.MaxValue"/> disables references.
    /// </summary>
    public long MinReferenceSegmentBytes { get; init; } = 1024 * 1024;

    /// <summary>A reference is not kept once it would list more than this many pieces. Default 10,000.</summary>
    public int MaxReferenceSegments { get; init; } = 10_000;

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MinReferenceSegmentBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReferenceSegments, 1);
    }
}
