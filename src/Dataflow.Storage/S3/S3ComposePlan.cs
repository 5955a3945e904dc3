using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>
/// How to build one object from byte ranges of others with a multipart upload: large ranges become server-side
/// copies (UploadPartCopy, no payload through the client), runs of small neighbours are read and uploaded as one
/// part. Every part but the last is at least <see cref="S3StoreOptions.MinPartSize"/>; copies are at most
/// <see cref="S3StoreOptions.MaxPartSize"/>; a small run that cannot reach the minimum on its own borrows the head
/// of the next large range.
/// </summary>
internal static class S3ComposePlan
{
    /// <summary>One part: either a copy of one range (<see cref="Copy"/>) or an upload of the concatenation of <see cref="Pieces"/>.</summary>
    internal sealed record Part(ObjectSegment? Copy, IReadOnlyList<ObjectSegment> Pieces)
    {
        public long Length => Copy?.Length ?? Pieces.Sum(p => p.Length);

        public bool IsCopy => Copy is not null;
    }

    /// <summary>Plans the parts of the concatenation of <paramref name="segments"/>.</summary>
    /// <param name="segments">The ranges, in order.</param>
    /// <param name="minPart">The smallest part but the last (5 MiB on S3; smaller in tests).</param>
    /// <param name="maxPart">The largest part.</param>
    /// <param name="uploadTarget">The size at which a run of small pieces is sent as one part (at least <paramref name="minPart"/>).</param>
    public static IReadOnlyList<Part> Create(IReadOnlyList<ObjectSegment> segments, long minPart, long maxPart, long uploadTarget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPart, 2 * minPart);
        uploadTarget = Math.Clamp(uploadTarget, minPart, maxPart);
        var parts = new List<Part>();
        var pending = new List<ObjectSegment>();
        long pendingLength = 0;

        void Flush()
        {
            if (pending.Count > 0)
            {
                parts.Add(new Part(null, [.. pending]));
                pending.Clear();
                pendingLength = 0;
            }
        }

        foreach (var original in segments)
        {
            var segment = original;
            if (segment.Length == 0)
            {
                continue;
            }

            if (segment.Length < minPart)
            {
                pending.Add(segment);
                pendingLength += segment.Length;
                if (pendingLength >= uploadTarget)
                {
                    Flush();
                }

                continue;
            }

            if (pendingLength > 0 && pendingLength < minPart)
            {
                // A short run before a large range: borrow the range's head to bring the run to the minimum, if
                // what remains of the range is still large enough to copy; otherwise upload the whole range too.
                var need = minPart - pendingLength;
                if (segment.Length - need >= minPart)
                {
                    pending.Add(segment with { Length = need });
                    segment = segment with { Offset = segment.Offset + need, Length = segment.Length - need };
                    Flush();
                }
                else
                {
                    pending.Add(segment);
                    pendingLength += segment.Length;
                    Flush();
                    continue;
                }
            }

            Flush();
            AddCopies(parts, segment, maxPart);
        }

        Flush();
        return parts;
    }

    // Splits a large range into copies of at most maxPart, as equal as can be (the first ones take one byte of the
    // remainder each, rather than the last all of it, which could push it over maxPart): each is at least
    // maxPart / 2, so at least minPart.
    private static void AddCopies(List<Part> parts, ObjectSegment segment, long maxPart)
    {
        var count = (segment.Length + maxPart - 1) / maxPart;
        var size = segment.Length / count;
        var remainder = segment.Length % count;
        var offset = segment.Offset;
        for (var i = 0; i < count; i++)
        {
            var length = i < remainder ? size + 1 : size;
            parts.Add(new Part(segment with { Offset = offset, Length = length }, []));
            offset += length;
        }
    }
}
