using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>
/// An object store: a flat namespace of immutable objects addressed by key (see <see cref="ObjectKey"/>), such as
/// a local folder or an S3 bucket prefix. All Dataflow data moves through one.
/// </summary>
/// <remarks>
/// Implementations are safe for concurrent use. Every key argument is validated with <see cref="ObjectKey.Validate"/>;
/// errors name the store and the key. Writes are atomic: an object is either absent or complete.
/// </remarks>
public interface IObjectStore : IAsyncDisposable
{
    /// <summary>The store's address, e.g. <c>file:///data/run/</c>; it ends in '/'.</summary>
    string Location { get; }

    /// <summary>The address of one object: <see cref="Location"/> followed by the key.</summary>
    string GetUri(string key);

    /// <summary>Lists the objects whose keys start with <paramref name="prefix"/>, in key order (ordinal UTF-8 bytes, as S3 lists them).</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Describes one object, or returns <see langword="null"/> when it does not exist.</summary>
    ValueTask<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Opens <paramref name="length"/> bytes of an object from <paramref name="offset"/> (to its end when <paramref name="length"/> is <see langword="null"/>).</summary>
    /// <exception cref="ObjectNotFoundException">The object does not exist.</exception>
    /// <exception cref="ObjectStoreException">The range does not lie within the object.</exception>
    ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts writing an object. Nothing is visible until <see cref="ObjectWriteStream.CompleteAsync"/> returns;
    /// disposing the stream before that discards what was written. An existing object is replaced.
    /// </summary>
    ValueTask<ObjectWriteStream> OpenWriteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes objects; keys that do not exist are ignored. Returns how many objects were deleted: a store that can
    /// tell (a folder) counts those that existed; one that cannot (S3's DeleteObjects) counts every key asked for.
    /// </summary>
    ValueTask<int> DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes a new object that is the concatenation of <paramref name="sources"/>, without the caller reading them
    /// (a server-side copy where the store has one). An existing object at the destination is replaced atomically.
    /// A source that names an <see cref="ObjectSegment.ETag"/> is copied only if the object is still that version.
    /// </summary>
    /// <exception cref="ObjectNotFoundException">A source does not exist.</exception>
    /// <exception cref="ObjectChangedException">A source is not the version it names.</exception>
    /// <exception cref="ObjectStoreException">A source range does not lie within its object.</exception>
    ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes the object at <paramref name="sourceKey"/> available at <paramref name="destinationKey"/> and removes
    /// the source: a rename on a folder (atomic, no bytes copied), a server-side copy and delete on S3. An existing
    /// destination is replaced.
    /// </summary>
    /// <exception cref="ObjectNotFoundException">The source does not exist.</exception>
    ValueTask<ObjectInfo> MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// Aborts every incomplete multipart upload of a key under <paramref name="keyPrefix"/> (a writer that died, an
    /// abort that failed): those recorded in the store's upload journal, which needs no listing of uploads (so it works
    /// on OSS too), and, where the service can list multipart uploads, any others found that way. Stores without
    /// multipart uploads (a folder) have none.
    /// </summary>
    /// <returns>How many uploads were aborted.</returns>
    Task<int> AbortIncompleteUploadsAsync(string keyPrefix, CancellationToken cancellationToken = default) => Task.FromResult(0);

    /// <summary>
    /// How many reads the store serves at once before a new one waits for another to finish (S3: its connection pool);
    /// <see langword="null"/> when reads do not wait on each other (a folder). Tasks that hold many inputs open at once
    /// are given a share of it (<see cref="Dataflow.Core.ObjectTaskContext.MaxOpenInputs"/>).
    /// </summary>
    int? MaxConcurrentReads => null;

    /// <summary>
    /// What identifies the object's current version beyond its entity tag, for the task cache: a folder store gives the
    /// file's device and inode numbers and its modification time to the nanosecond (a file replaced by another, or
    /// rewritten within the tag's resolution, gets another identity). <see langword="null"/> when the store has nothing
    /// beyond the entity tag (S3, whose tag is its version) or the object does not exist.
    /// </summary>
    ValueTask<string?> GetIdentityAsync(string key, CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(null);

    /// <summary>
    /// Opens the bytes of <paramref name="segment"/>. When the segment names an <see cref="ObjectSegment.ETag"/>, the
    /// store opens that version only, and checks it atomically where it can (S3's <c>If-Match</c>; on a folder, the
    /// opened file's own modification time and size).
    /// </summary>
    /// <exception cref="ObjectNotFoundException">The object does not exist.</exception>
    /// <exception cref="ObjectChangedException">The object is not the version the segment names.</exception>
    /// <exception cref="ObjectStoreException">The range does not lie within the object.</exception>
    async ValueTask<Stream> OpenSegmentAsync(ObjectSegment segment, CancellationToken cancellationToken = default)
    {
        if (segment.ETag is { } expected)
        {
            var info = await HeadAsync(segment.Key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, segment.Key);
            if (!string.Equals(info.ETag, expected, StringComparison.Ordinal))
            {
                throw new ObjectChangedException(Location, segment.Key, expected, info.ETag);
            }
        }

        return await OpenReadAsync(segment.Key, segment.Offset, segment.Length, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// True when this store can write an object under its final key and hold it back until it is published
    /// (<see cref="OpenStagedWriteAsync"/>, <see cref="ComposeStagedAsync"/>, <see cref="PublishStagedAsync"/>): S3 leaves
    /// the multipart upload open. A store that cannot (a folder, where a rename publishes for free) says false.
    /// </summary>
    bool CanStage => false;

    /// <summary>
    /// Starts writing an object under <paramref name="key"/> that stays invisible after
    /// <see cref="StagedWriteStream.StageAsync"/> until <see cref="PublishStagedAsync"/>; until then it is recorded under
    /// <paramref name="owner"/>, so that <see cref="AbortIncompleteUploadsAsync"/> of a prefix of the owner discards it.
    /// </summary>
    /// <exception cref="NotSupportedException">The store cannot stage (<see cref="CanStage"/> is false).</exception>
    ValueTask<StagedWriteStream> OpenStagedWriteAsync(string key, string owner, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"the store at {Location} cannot stage objects");

    /// <summary>
    /// Concatenates <paramref name="sources"/> as <see cref="ComposeAsync"/> does, into an object under
    /// <paramref name="key"/> that stays invisible until <see cref="PublishStagedAsync"/> (see <see cref="OpenStagedWriteAsync"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">The store cannot stage (<see cref="CanStage"/> is false).</exception>
    ValueTask<StagedObject> ComposeStagedAsync(string key, string owner, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"the store at {Location} cannot stage objects");

    /// <summary>
    /// Makes a staged object visible under its key, replacing any object there, without copying it (S3's
    /// CompleteMultipartUpload). Publishing an object that is already published (by an earlier publisher that stopped
    /// before saying so) succeeds and describes it.
    /// </summary>
    /// <exception cref="ObjectNotFoundException">
    /// The staged object is gone (discarded, or expired by a bucket rule) and the key does not hold it.
    /// </exception>
    /// <exception cref="NotSupportedException">The store cannot stage (<see cref="CanStage"/> is false).</exception>
    ValueTask<ObjectInfo> PublishStagedAsync(StagedObject staged, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"the store at {Location} cannot stage objects");

    /// <summary>
    /// Why this store cannot hold an object at <paramref name="key"/> (a file name too long for the folder, a key too
    /// long for the bucket with the store's prefix), or <see langword="null"/> when it can: checked before work starts.
    /// </summary>
    string? CheckKey(string key) => null;

    /// <summary>
    /// Deletes what writers that died left behind in the store's own temporary space (a folder store's partial files
    /// of processes that no longer run); the store's objects and the temporary files of live writers are not touched.
    /// </summary>
    /// <returns>Files deleted and their bytes.</returns>
    Task<StoreLeftovers> RemoveLeftoversAsync(CancellationToken cancellationToken = default) => Task.FromResult(StoreLeftovers.None);

    /// <summary>Requests this store retried (by its retry policy, after a transient failure) since it was opened.</summary>
    long RetriedRequests => 0;
}

/// <summary>What <see cref="IObjectStore.RemoveLeftoversAsync"/> deleted.</summary>
/// <param name="Files">Temporary files deleted.</param>
/// <param name="Bytes">Their bytes.</param>
public sealed record StoreLeftovers(int Files, long Bytes)
{
    /// <summary>Nothing.</summary>
    public static StoreLeftovers None { get; } = new(0, 0);
}
