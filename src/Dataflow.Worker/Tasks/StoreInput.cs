using System.Globalization;
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

    /// <summary>How messages name a job input: its key in quotes, with the range of a split of it.</summary>
    public static string NameOf(string key, long? offset = null, long? length = null) =>
        offset is { } first && length is { } count
            ? string.Create(CultureInfo.InvariantCulture, $"'{key}' bytes {first} to {first + count}")
            : $"'{key}'";

    public static StoreInput ForJobInput(IObjectStore store, RunCounters counters, PlanInput input) =>
        new(store, counters, NameOf(input.Key), input.Size, [ObjectSegment.Whole(input.Key, input.Size) with { ETag = input.ETag }], checksum: null, new InputSplit(input.Key, 0, input.Size, input.Size));

    public static StoreInput ForJobInputRange(IObjectStore store, RunCounters counters, PlanInput input, long offset, long length) =>
        new(store, counters, NameOf(input.Key, offset, length), length, [new ObjectSegment(input.Key, offset, length) { ETag = input.ETag }], checksum: null, new InputSplit(input.Key, offset, length, input.Size));

    public static StoreInput ForCommitted(IObjectStore store, RunCounters counters, string name, CommittedOutput output) =>
        new(store, counters, name, output.Size, output.AsSegments(), output.Checksum, split: null);

    public override async ValueTask<Stream> OpenObjectAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        var split = _split ?? throw new NotSupportedException($"input {Name} is not a job input object");
        if (offset < 0 || length < 0 || offset > split.ObjectLength - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset} to {offset + length} lie outside '{split.Key}', which had {split.ObjectLength} bytes when the run was planned");
        }

        var name = NameOf(split.Key, offset, length);
        var inner = await OpenAsync(_store, name, new ObjectSegment(split.Key, offset, length) { ETag = Segments[0].ETag }, cancellationToken).ConfigureAwait(false);
        return new VerifyingReadStream(inner, name, length, null, _counters, split.Key);
    }

    public override async ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken = default)
    {
        Stream inner;
        if (Segments.Count == 1 && _split is { IsWholeObject: true } && Segments[0].ETag is null)
        {
            // A store that gives no entity tags: open the whole object, so that the verifying stream sees a size change.
            inner = await OpenAsync(_store, Name, Segments[0], cancellationToken, whole: true).ConfigureAwait(false);
        }
        else if (Segments.Count == 1)
        {
            inner = await OpenAsync(_store, Name, Segments[0], cancellationToken).ConfigureAwait(false);
        }
        else
        {
            inner = new SegmentReadStream(_store, Name, Segments);
        }

        return new VerifyingReadStream(inner, Name, Length, _checksum, _counters, Segments.Count == 1 ? Segments[0].Key : null);
    }

    /// <summary>
    /// Opens one segment of input <paramref name="name"/>, translating a missing object or one that is not the
    /// recorded version into an <see cref="InputLostException"/> naming the object.
    /// </summary>
    internal static async ValueTask<Stream> OpenAsync(IObjectStore store, string name, ObjectSegment segment, CancellationToken cancellationToken, bool whole = false)
    {
        try
        {
            return whole
                ? await store.OpenReadAsync(segment.Key, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await store.OpenSegmentAsync(segment, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectNotFoundException or ObjectChangedException)
        {
            throw new InputLostException(segment.Key, $"input {name} cannot be read as it was recorded: {ex.Message}", ex);
        }
    }
}
