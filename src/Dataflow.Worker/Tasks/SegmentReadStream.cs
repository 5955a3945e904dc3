using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>Reads the concatenation of byte ranges of several objects, opening each range only when it is reached.</summary>
internal sealed class SegmentReadStream : ConcatenatedReadStream
{
    private readonly IObjectStore _store;
    private readonly IReadOnlyList<ObjectSegment> _segments;
    private int _next;

    public SegmentReadStream(IObjectStore store, IReadOnlyList<ObjectSegment> segments)
    {
        _store = store;
        _segments = segments;
    }

    protected override async ValueTask<Stream?> OpenNextAsync(CancellationToken cancellationToken)
    {
        if (_next == _segments.Count)
        {
            return null;
        }

        var segment = _segments[_next++];
        return await _store.OpenReadAsync(segment.Key, segment.Offset, segment.Length, cancellationToken).ConfigureAwait(false);
    }
}
