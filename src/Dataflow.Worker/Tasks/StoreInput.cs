using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// A task input backed by the store: a job input object, a committed data output, or a committed reference
/// (byte ranges of other objects). Reads are verified against the recorded length and, for data, the checksum.
/// </summary>
internal sealed class StoreInput : TaskInput
{
    private readonly IObjectStore _store;
    private readonly RunCounters _counters;
    private readonly string? _checksum;
    private readonly InputSplit? _split;

    private StoreInput(IObjectStore store, RunCounters counters, string name, long length, IReadOnlyList<ObjectSegment> segments, string? checksum, InputSplit? split)
    {
        _store = store;
        _counters = counters;
        Name = name;
        Length = length;
        Segments = segments;
        _checksum = checksum;
        _split = split;
    }

    public override string Name { get; }

    public override long Length { get; }

    /// <summary>The byte ranges whose concatenation is this input.</summary>
    public IReadOnlyList<ObjectSegment> Segments { get; }

    public override InputSplit? Split => _split;

    public static StoreInput ForJobInput(IObjectStore store, RunCounters counters, string key, long size) =>
        new(store, counters, $"'{key}'", size, [ObjectSegment.Whole(key, size)], checksum: null, new InputSplit(key, 0, size, size));

    public static StoreInput ForJobInputRange(IObjectStore store, RunCounters counters, string key, long offset, long length, long size) =>
        new(store, counters, $"'{key}' bytes {offset} to {offset + length}", length, [new ObjectSegment(key, offset, length)], checksum: null, new InputSplit(key, offset, length, size));

    public static StoreInput ForCommitted(IObjectStore store, RunCounters counters, string name, CommittedOutput output) =>
        new(store, counters, name, output.Size, output.AsSegments(), output.Checksum, split: null);

    public override async ValueTask<Stream> OpenObjectAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        var split = _split ?? throw new NotSupportedException($"input {Name} is not a job input object");
        if (offset < 0 || length < 0 || offset > split.ObjectLength - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset} to {offset + length} lie outside '{split.Key}', which had {split.ObjectLength} bytes when the run was planned");
        }

        var inner = await _store.OpenReadAsync(split.Key, offset, length, cancellationToken).ConfigureAwait(false);
        return new VerifyingReadStream(inner, $"'{split.Key}' bytes {offset} to {offset + length}", length, null, _counters);
    }

    public override async ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken = default)
    {
        Stream inner;
        if (_split is { IsWholeObject: true })
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
