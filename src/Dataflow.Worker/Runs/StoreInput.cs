using Dataflow.Objects;
using Dataflow.Operators;
using Dataflow.Storage;

namespace Dataflow.Execution.Runs;

/// <summary>
/// A task input backed by the store: a job input object, a committed data output, or a committed reference
/// (byte ranges of other objects). Reads are verified against the recorded length and, for data, the checksum.
/// </summary>
internal sealed class StoreInput : TaskInput
{
    private readonly IObjectStore _store;
    private readonly RunCounters _counters;
    private readonly string? _checksum;
    private readonly bool _isJobInput;

    private StoreInput(IObjectStore store, RunCounters counters, string name, long length, IReadOnlyList<ObjectSegment> segments, string? checksum, bool isJobInput)
    {
        _store = store;
        _counters = counters;
        Name = name;
        Length = length;
        Segments = segments;
        _checksum = checksum;
        _isJobInput = isJobInput;
    }

    public override string Name { get; }

    public override long Length { get; }

    /// <summary>The byte ranges whose concatenation is this input.</summary>
    public IReadOnlyList<ObjectSegment> Segments { get; }

    public static StoreInput ForJobInput(IObjectStore store, RunCounters counters, string key, long size) =>
        new(store, counters, $"'{key}'", size, [ObjectSegment.Whole(key, size)], checksum: null, isJobInput: true);

    public static StoreInput ForCommitted(IObjectStore store, RunCounters counters, string name, Dataflow.Runs.CommittedOutput output) =>
        new(store, counters, name, output.Size, output.AsSegments(), output.Checksum, isJobInput: false);

    public override async ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken = default)
    {
        Stream inner;
        if (_isJobInput)
        {
            // Open the whole object: if it changed size since planning, the verifying stream says so.
            inner = await _store.OpenReadAsync(Segments[0].Key, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else if (Segments.Count == 1)
        {
            var segment = Segments[0];
            inner = await _store.OpenReadAsync(segment.Key, segment.Offset, segment.Length, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            inner = new SegmentReadStream(_store, Segments);
        }

        return new VerifyingReadStream(inner, Name, Length, _checksum, _counters);
    }
}
