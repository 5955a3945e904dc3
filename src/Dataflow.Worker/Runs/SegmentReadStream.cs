using Dataflow.Objects;
using Dataflow.Storage;

namespace Dataflow.Execution.Runs;

/// <summary>Reads the concatenation of byte ranges of several objects, opening each range only when it is reached.</summary>
internal sealed class SegmentReadStream : ReadOnlyStream
{
    private readonly IObjectStore _store;
    private readonly IReadOnlyList<ObjectSegment> _segments;
    private int _next;
    private Stream? _current;

    public SegmentReadStream(IObjectStore store, IReadOnlyList<ObjectSegment> segments)
    {
        _store = store;
        _segments = segments;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        while (true)
        {
            if (_current is null)
            {
                if (_next == _segments.Count)
                {
                    return 0;
                }

                var segment = _segments[_next++];
                _current = await _store.OpenReadAsync(segment.Key, segment.Offset, segment.Length, cancellationToken).ConfigureAwait(false);
            }

            var n = await _current.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n > 0)
            {
                return n;
            }

            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
        }

        base.Dispose(disposing);
    }
}
