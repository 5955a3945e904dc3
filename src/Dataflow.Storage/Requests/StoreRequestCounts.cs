using System.Text.Json.Serialization;

namespace Dataflow.Storage;

/// <summary>
/// Store requests counted by kind (see <see cref="StoreRequestKind"/>): what one task attempt, or a run's driver,
/// asked of its store. Safe to count into from many threads at once; a counter, not a log: counting allocates nothing.
/// Stores count into the current counter (<see cref="StoreRequests.Current"/>) as they make each request.
/// </summary>
/// <remarks>
/// An S3 store counts each HTTP request it sends, retries included (a retried request was sent, and billed, twice);
/// a folder store counts each call of its <see cref="IObjectStore"/> methods. Serialised as a small JSON object of the
/// seven counts (<c>{"list":1,"head":0,…}</c>). Two are equal when their counts are, as they are when compared (a
/// summary read back equals the one written).
/// </remarks>
public sealed class StoreRequestCounts : IEquatable<StoreRequestCounts>
{
    private long _list;
    private long _head;
    private long _get;
    private long _put;
    private long _part;
    private long _copy;
    private long _delete;

    /// <summary>Listings.</summary>
    public long List { get => Interlocked.Read(ref _list); init => _list = value; }

    /// <summary>Heads.</summary>
    public long Head { get => Interlocked.Read(ref _head); init => _head = value; }

    /// <summary>Reads.</summary>
    public long Get { get => Interlocked.Read(ref _get); init => _get = value; }

    /// <summary>Writes, multipart uploads' create and complete requests included.</summary>
    public long Put { get => Interlocked.Read(ref _put); init => _put = value; }

    /// <summary>Parts of multipart uploads.</summary>
    public long Part { get => Interlocked.Read(ref _part); init => _part = value; }

    /// <summary>Server-side copies.</summary>
    public long Copy { get => Interlocked.Read(ref _copy); init => _copy = value; }

    /// <summary>Deletions.</summary>
    public long Delete { get => Interlocked.Read(ref _delete); init => _delete = value; }

    /// <summary>Every request counted.</summary>
    [JsonIgnore]
    public long Total => List + Head + Get + Put + Part + Copy + Delete;

    /// <summary>Counts one request of <paramref name="kind"/>.</summary>
    public void Count(StoreRequestKind kind) => Interlocked.Increment(ref Field(kind));

    /// <summary>The requests of <paramref name="kind"/> counted.</summary>
    public long this[StoreRequestKind kind] => Interlocked.Read(ref Field(kind));

    /// <summary>Adds the counts of <paramref name="other"/> to these.</summary>
    public void Add(StoreRequestCounts? other)
    {
        if (other is null)
        {
            return;
        }

        Interlocked.Add(ref _list, other.List);
        Interlocked.Add(ref _head, other.Head);
        Interlocked.Add(ref _get, other.Get);
        Interlocked.Add(ref _put, other.Put);
        Interlocked.Add(ref _part, other.Part);
        Interlocked.Add(ref _copy, other.Copy);
        Interlocked.Add(ref _delete, other.Delete);
    }

    /// <summary>A copy of the counts as they are now, which later requests do not change.</summary>
    public StoreRequestCounts Snapshot()
    {
        var copy = new StoreRequestCounts();
        copy.Add(this);
        return copy;
    }

    /// <summary>The sum of <paramref name="counts"/> (those that are <see langword="null"/> are left out).</summary>
    public static StoreRequestCounts Sum(IEnumerable<StoreRequestCounts?> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var sum = new StoreRequestCounts();
        foreach (var c in counts)
        {
            sum.Add(c);
        }

        return sum;
    }

    /// <inheritdoc/>
    public bool Equals(StoreRequestCounts? other) =>
        other is not null
        && List == other.List && Head == other.Head && Get == other.Get && Put == other.Put
        && Part == other.Part && Copy == other.Copy && Delete == other.Delete;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as StoreRequestCounts);

    /// <summary>A hash of the counts as they are now (a counter still counting changes it).</summary>
    public override int GetHashCode() => HashCode.Combine(List, Head, Get, Put, Part, Copy, Delete);

    /// <summary>The counts, e.g. <c>list=1 head=0 get=4 put=2 part=0 copy=0 delete=1</c>.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"list={List} head={Head} get={Get} put={Put} part={Part} copy={Copy} delete={Delete}");

    private ref long Field(StoreRequestKind kind)
    {
        switch (kind)
        {
            case StoreRequestKind.List: return ref _list;
            case StoreRequestKind.Head: return ref _head;
            case StoreRequestKind.Get: return ref _get;
            case StoreRequestKind.Put: return ref _put;
            case StoreRequestKind.Part: return ref _part;
            case StoreRequestKind.Copy: return ref _copy;
            case StoreRequestKind.Delete: return ref _delete;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a kind of store request");
        }
    }
}
