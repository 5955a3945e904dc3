using System.Text.Json.Serialization;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// What a stored plan's <c>plan.json</c> holds: everything about the plan except its tasks and inputs, which are
/// stored in chunks (<see cref="PlanChunk"/>, <see cref="PlanInputChunk"/>), so that a worker running a few tasks
/// reads a few kilobytes, never the whole plan of a million tasks.
/// </summary>
internal sealed record PlanIndex
{
    /// <summary>
    /// The schema version of a stored plan index: 3, chunks in the compact form of <see cref="PlanChunkCodec"/>. Still
    /// read: 2, chunks of an object per task (<see cref="PlanSerializer.SerializePart"/>), and a whole plan (1), which
    /// has no chunks.
    /// </summary>
    public const int CurrentSchemaVersion = 3;

    /// <summary>The oldest schema version of a stored plan index that is still read.</summary>
    public const int OldestChunkedSchemaVersion = 2;

    // Ordered by what a reader checks first: the schema and the build that made the plan, then which run it is.

    /// <summary>The schema version; readers refuse versions they do not know.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <inheritdoc cref="Plan.DataflowVersion"/>
    public required string DataflowVersion { get; init; }

    /// <inheritdoc cref="Plan.RunId"/>
    public required string RunId { get; init; }

    /// <inheritdoc cref="Plan.Job"/>
    public required string Job { get; init; }

    /// <summary>Tasks per chunk of a stage, and inputs per chunk of the input list.</summary>
    public required int ChunkSize { get; init; }

    /// <inheritdoc cref="Plan.CreatedAt"/>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <inheritdoc cref="Plan.Cache"/>
    [JsonConverter(typeof(JsonStringEnumConverter<CacheMode>))]
    public CacheMode Cache { get; init; }

    /// <inheritdoc cref="Plan.Arguments"/>
    public IReadOnlyList<string>? Arguments { get; init; }

    /// <summary>The number of job inputs.</summary>
    public required int InputCount { get; init; }

    /// <summary>The stages: names and task counts.</summary>
    public required IReadOnlyList<PlanStageIndex> Stages { get; init; }

    /// <summary>The final outputs.</summary>
    public required IReadOnlyList<PlanOutput> Outputs { get; init; }

    /// <summary>The total number of tasks.</summary>
    public int TaskCount => Stages.Sum(s => s.Tasks);

    /// <summary>The number of chunks of stage <paramref name="stage"/>.</summary>
    public int StageChunks(int stage) => Chunks(Stages[stage].Tasks);

    /// <summary>The number of chunks of the input list.</summary>
    public int InputChunks => Chunks(InputCount);

    /// <summary>Where chunk <paramref name="chunk"/> of a list of <paramref name="total"/> tasks or inputs starts, and how many it holds.</summary>
    public (int First, int Count) ChunkRange(int total, int chunk)
    {
        var first = chunk * ChunkSize;
        return (first, Math.Min(ChunkSize, total - first));
    }

    private int Chunks(int count) => (count + ChunkSize - 1) / ChunkSize;
}

/// <summary>A stage in a <see cref="PlanIndex"/>: its name and how many tasks it has.</summary>
/// <param name="Name">The stage's name.</param>
/// <param name="Tasks">The stage's task count.</param>
internal sealed record PlanStageIndex(string Name, int Tasks);

/// <summary>
/// A chunk of one stage's tasks: tasks <see cref="First"/> to <see cref="First"/> + count − 1, with the size of each
/// job input they read (so a worker needs nothing else to check what it reads).
/// </summary>
internal sealed record PlanChunk
{
    /// <summary>The stage.</summary>
    public required int Stage { get; init; }

    /// <summary>The index of the chunk's first task in its stage.</summary>
    public required int First { get; init; }

    /// <summary>The tasks, in order.</summary>
    public required IReadOnlyList<PlanTask> Tasks { get; init; }

    /// <summary>The job inputs the tasks read, once each.</summary>
    public required IReadOnlyList<PlanInput> Inputs { get; init; }
}

/// <summary>A chunk of a plan's job inputs, in the order the job reads them.</summary>
internal sealed record PlanInputChunk
{
    /// <summary>The index of the chunk's first input.</summary>
    public required int First { get; init; }

    /// <summary>The inputs.</summary>
    public required IReadOnlyList<PlanInput> Inputs { get; init; }
}
