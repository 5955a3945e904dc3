using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// The commit of one attempt of one task, stored in a <see cref="CommitRecord"/>. The record is written last, after
/// every output, so a marker's presence means the attempt's outputs are complete; it records their sizes and
/// checksums so that readers can verify them.
/// </summary>
/// <remarks>
/// Markers are immutable. If duplicated attempts both commit (possible with separate workers), readers take the
/// marker whose <see cref="AttemptId"/> is ordinally smallest (<see cref="Wins"/>): every committed attempt is
/// complete, so any choice is safe, and this one is the same for every reader — no conditional writes needed.
/// </remarks>
internal sealed record CommitMarker
{
    /// <summary>The task.</summary>
    public required TaskId Task { get; init; }

    /// <summary>The attempt that committed.</summary>
    public required string AttemptId { get; init; }

    /// <summary>The attempt's number, from 1.</summary>
    public required int Attempt { get; init; }

    /// <summary>When the attempt committed.</summary>
    public required DateTimeOffset CommittedAt { get; init; }

    /// <summary>How long the attempt ran, in milliseconds.</summary>
    public required long DurationMs { get; init; }

    /// <summary>
    /// The worker that ran the attempt: the host name of a worker process (a pod's name on Kubernetes);
    /// <see langword="null"/> when the driver ran it in its own process. The run report's timeline rows.
    /// </summary>
    public string? Worker { get; init; }

    /// <summary>The attempt's outputs.</summary>
    public required IReadOnlyList<CommittedOutput> Outputs { get; init; }

    /// <summary>
    /// Bytes the attempt read (inputs, and what a store composed for it); <see langword="null"/> in markers of earlier
    /// builds. A driver that did not run the attempt (pods, a workflow's finish step) counts the run's bytes from these.
    /// </summary>
    public long? BytesRead { get; init; }

    /// <summary>Bytes the attempt wrote; <see langword="null"/> in markers of earlier builds.</summary>
    public long? BytesWritten { get; init; }

    /// <summary>
    /// What a worker's attempt used: CPU and peak memory where its process ran it alone (a worker process, a pod), and
    /// its store requests up to its commit, the marker's own write counted in advance as one put. A driver that did not
    /// run the attempt (pods, a workflow's finish step) adds these up. <see langword="null"/> in markers the driver wrote
    /// for its own attempts (the local executor records them itself) and in markers of earlier builds.
    /// </summary>
    public ResourceUse? Resources { get; init; }

    /// <summary>
    /// For a task taken from the task cache rather than run: the cache key whose entry gave its outputs (64 hex digits).
    /// Such a marker's attempt id starts with <c>c</c> and its attempt number is 0; <see langword="null"/> for an attempt that ran.
    /// </summary>
    public string? CachedFrom { get; init; }

    /// <summary>
    /// For a task that failed for good in a run that tolerated it (<see cref="JobRunnerOptions.MaxFailedInputs"/>): why,
    /// and which inputs are lost. Such a marker is written by the driver, its attempt id starts with <c>f</c> (any
    /// attempt that ran wins over it), and its outputs are empty references, which every reader reads as no bytes;
    /// <see langword="null"/> for an attempt that committed.
    /// </summary>
    public ToleratedFailure? Failed { get; init; }

    /// <summary>Which attempt of each producing task the attempt read, so that lineage survives duplicates.</summary>
    public required IReadOnlyList<ConsumedArtifact> Consumed { get; init; }

    /// <summary>True when this marker wins over <paramref name="other"/>, another committed attempt of the same task.</summary>
    public bool Wins(CommitMarker other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return string.CompareOrdinal(AttemptId, other.AttemptId) < 0;
    }

    /// <summary>The output named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidDataException">The marker has no such output.</exception>
    public CommittedOutput GetOutput(string name) =>
        Outputs.FirstOrDefault(o => string.Equals(o.Name, name, StringComparison.Ordinal))
        ?? throw new InvalidDataException($"the commit marker of task {Task} (attempt '{AttemptId}') has no output '{name}'");
}

/// <summary>
/// A committed output: either data (an object at <see cref="Key"/>) or a reference (the concatenation of
/// <see cref="Segments"/>, byte ranges of other objects, no bytes of its own).
/// </summary>
internal sealed record CommittedOutput
{
    /// <summary>The output's name.</summary>
    public required string Name { get; init; }

    /// <summary>The output's length in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>The object holding the output's bytes; <see langword="null"/> for a reference.</summary>
    public string? Key { get; init; }

    /// <summary>The checksum of the bytes, <c>xxh3:&lt;16 hex digits&gt;</c>, when it was computed on the way.</summary>
    public string? Checksum { get; init; }

    /// <summary>
    /// The entity tag of <see cref="Key"/>'s object as the store reported it when the output was completed: readers
    /// read that version only. (A reference's segments carry the tags of the objects they point into.)
    /// </summary>
    public string? ETag { get; init; }

    /// <summary>For a reference: the byte ranges whose concatenation is the output. <see langword="null"/> for data.</summary>
    public IReadOnlyList<ObjectSegment>? Segments { get; init; }

    /// <summary>
    /// For a final output written where it belongs (a store that stages, e.g. S3): the object staged under its final
    /// key, <see cref="Key"/>, which publishing makes visible without copying it; <see langword="null"/> otherwise. Only
    /// the winning commit's staged object is ever published.
    /// </summary>
    public Dataflow.Storage.StagedObject? Staged { get; init; }

    /// <summary>True for a reference.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsReference => Segments is not null;

    /// <summary>The output as byte ranges: the one object for data, the segments for a reference.</summary>
    public IReadOnlyList<ObjectSegment> AsSegments() => Segments ?? [ObjectSegment.Whole(Key!, Size) with { ETag = ETag }];
}

/// <summary>One task output that an attempt read, with the attempt of the producer it read.</summary>
/// <param name="Task">The producing task.</param>
/// <param name="Output">The producer's output name.</param>
/// <param name="AttemptId">The producer's attempt that was read.</param>
internal sealed record ConsumedArtifact(TaskId Task, string Output, string AttemptId);
