using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>Publishing: the final outputs put in place once every task has committed.</summary>
internal sealed partial class RunSession
{
    /// <summary>
    /// Puts every final output in place — publishes it where it was staged (S3: completes its upload, no copy), or moves
    /// it (a rename on a folder) — then lets its intermediate object go.
    /// </summary>
    public async ValueTask PublishAsync(CancellationToken cancellationToken)
    {
        foreach (var output in _plan.Outputs)
        {
            var marker = _markers[Graph.IndexOf(output.Task)]
                ?? throw new InvalidOperationException($"final output '{output.Key}' cannot be published: task {output.Task} has not committed");

            // A task that failed and was tolerated has no output: none is published in its place (the summary lists its inputs).
            if (marker.Failed is null)
            {
                await PublishAsync(_store, output, marker, cancellationToken).ConfigureAwait(false);
            }

            await ConsumedAsync((output.Task, output.Output), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Moves final output <paramref name="output"/>, committed with <paramref name="marker"/>, into place; succeeds
    /// when an earlier publisher of the run already moved it.
    /// </summary>
    /// <exception cref="InvalidDataException">The published object's size is not the committed size.</exception>
    public static async ValueTask PublishAsync(IObjectStore store, PlanOutput output, CommitMarker marker, CancellationToken cancellationToken)
    {
        var committed = marker.GetOutput(output.Output);
        if (marker.CachedFrom is not null)
        {
            await PublishCachedAsync(store, output, marker, committed, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (committed.Staged is { } staged)
        {
            await PublishStagedAsync(store, output, marker, committed, staged, cancellationToken).ConfigureAwait(false);
            return;
        }

        var source = committed.Key
            ?? throw new InvalidOperationException($"final output '{output.Key}' is a reference, not data; task {output.Task} must write it");
        // The committed object must still be what the task committed: a published output is never one that changed
        // (or went missing) after its commit. A missing one may have been published by an earlier publisher.
        if (await store.HeadAsync(source, cancellationToken).ConfigureAwait(false) is { } current
            && (current.Size != committed.Size || (committed.ETag is not null && !string.Equals(current.ETag, committed.ETag, StringComparison.Ordinal))))
        {
            throw new InputLostException(source, $"final output '{output.Key}' cannot be published: the object task {output.Task} committed changed since (size {current.Size}, entity tag {current.ETag}; committed {committed.Size}, {committed.ETag})");
        }

        ObjectInfo info;
        try
        {
            info = await store.MoveAsync(source, output.Key, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            // An earlier publisher of this run may have published it and stopped before finishing.
            if (await store.HeadAsync(output.Key, cancellationToken).ConfigureAwait(false) is not { } published || published.Size != committed.Size)
            {
                throw new InputLostException(source, $"final output '{output.Key}' cannot be published: the object task {output.Task} committed is missing");
            }

            info = published;
        }

        if (info.Size != committed.Size)
        {
            throw new InvalidDataException($"final output '{output.Key}' is {info.Size} bytes, but task {output.Task} committed {committed.Size}");
        }
    }

    /// <summary>
    /// Publishes a final output taken from the task cache: nothing to do when the entry's object is the output itself
    /// (published there by an earlier run, and unchanged since), else a copy of it (a server-side copy on S3) —
    /// never a move, which would take it from the cache. An object missing or changed counts as lost: the task runs.
    /// </summary>
    private static async ValueTask PublishCachedAsync(IObjectStore store, PlanOutput output, CommitMarker marker, CommittedOutput committed, CancellationToken cancellationToken)
    {
        var source = committed.Key
            ?? throw new InvalidOperationException($"final output '{output.Key}' is a reference, not data; task {output.Task} must write it");
        var current = await store.HeadAsync(source, cancellationToken).ConfigureAwait(false);
        if (current is null || current.Size != committed.Size || (committed.ETag is not null && !string.Equals(current.ETag, committed.ETag, StringComparison.Ordinal)))
        {
            throw new InputLostException(source, current is null
                ? $"final output '{output.Key}' cannot be published: the object the cache holds for task {output.Task}, '{source}', is missing"
                : $"final output '{output.Key}' cannot be published: the object the cache holds for task {output.Task}, '{source}', changed since it was cached (size {current.Size}, entity tag {current.ETag}; cached {committed.Size}, {committed.ETag})");
        }

        if (string.Equals(source, output.Key, StringComparison.Ordinal))
        {
            return;
        }

        ObjectInfo info;
        try
        {
            info = await store.ComposeAsync(output.Key, [ObjectSegment.Whole(source, committed.Size) with { ETag = committed.ETag }], cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex is ObjectNotFoundException or ObjectChangedException)
        {
            throw new InputLostException(source, $"final output '{output.Key}' cannot be published: the object the cache holds for task {output.Task} is gone or changed ({ex.Message})", ex);
        }

        if (info.Size != committed.Size)
        {
            throw new InvalidDataException($"final output '{output.Key}' was published as {info.Size} bytes, but the cache holds {committed.Size} for task {output.Task}");
        }
    }

    /// <summary>
    /// Publishes a final output the task staged under its key: only the winning attempt's is ever published, so a late
    /// duplicate attempt cannot replace it. Staged objects that are gone (a clean-up of the run, a bucket rule) count as
    /// lost: the task is run again.
    /// </summary>
    private static async ValueTask PublishStagedAsync(IObjectStore store, PlanOutput output, CommitMarker marker, CommittedOutput committed, StagedObject staged, CancellationToken cancellationToken)
    {
        if (!string.Equals(staged.Key, output.Key, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"final output '{output.Key}': task {output.Task} (attempt '{marker.AttemptId}') staged it at '{staged.Key}'");
        }

        ObjectInfo info;
        try
        {
            info = await store.PublishStagedAsync(staged, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException ex)
        {
            throw new InputLostException(output.Key, $"final output '{output.Key}' cannot be published: what task {output.Task} (attempt '{marker.AttemptId}') staged there is gone ({ex.Message})", ex);
        }

        // The size only: the tag the parts foretell is not the published one where parts' tags are not MD5s (SSE-KMS),
        // and the upload just completed is the one the commit names.
        if (info.Size != committed.Size)
        {
            throw new InvalidDataException($"final output '{output.Key}' was published as {info.Size} bytes, but task {output.Task} committed {committed.Size}");
        }
    }
}
