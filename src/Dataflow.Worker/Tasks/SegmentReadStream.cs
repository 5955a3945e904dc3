using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>Reads the concatenation of byte ranges of several objects, opening each range only when it is reached.</summary>
internal sealed class SegmentReadStream : ConcatenatedReadStream
{
    private readonly IObjectStore _store;
    private readonly string _name;
    private readonly IReadOnlyList<ObjectSegment> _segments;
    private int _next;

    public SegmentReadStream(IObjectStore store, string name, IReadOnlyList<ObjectSegment> segments)
    {
        _store = store;
        _name = name;
        _segments = segments;
    }

    protected override async ValueTask<Stream?> OpenNextAsync(CancellationToken cancellationToken)
    {
        if (_next == _segments.Count)
        {
            return null;
        }

        var segment = _segments[_next++];
        return await StoreInput.OpenAsync(_store, _name, segment, cancellationToken).ConfigureAwait(false);
    }
}
