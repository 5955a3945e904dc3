using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// Stores a run's plan split into chunks (<see cref="PlanChunks"/>) and reads it back: whole for a driver, or only
/// the chunks a worker's tasks are in. The index is written last, so a plan whose index exists is complete.
/// </summary>
internal static class PlanStore
{
    private const int Parallelism = 16;

    /// <summary>Stores <paramref name="plan"/>: its chunks, then its index at <see cref="RunLayout.PlanKey"/>.</summary>
    public static async Task SaveAsync(IObjectStore store, Plan plan, int chunkSize = PlanChunks.DefaultChunkSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(plan);
        var layout = new RunLayout(plan.RunId);
        var index = PlanChunks.Index(plan, chunkSize);
        var inputs = new Dictionary<string, PlanInput>(plan.Inputs.Count, StringComparer.Ordinal);
        foreach (var input in plan.Inputs)
        {
            inputs.TryAdd(input.Key, input);
        }

        var parts = new List<(string Key, Func<byte[]> Bytes)>();
        for (var c = 0; c < index.InputChunks; c++)
        {
            var chunk = c;
            parts.Add((layout.PlanInputChunkKey(chunk), () => PlanSerializer.SerializePart(PlanChunks.InputChunk(plan, index, chunk))));
        }

        for (var s = 0; s < index.Stages.Count; s++)
        {
            for (var c = 0; c < index.StageChunks(s); c++)
            {
                var (stage, chunk) = (s, c);
                parts.Add((layout.PlanChunkKey(stage, chunk), () => PlanSerializer.SerializePart(PlanChunks.TaskChunk(plan, index, inputs, stage, chunk))));
            }
        }

        await Parallel.ForEachAsync(
            parts,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (part, token) => await store.PutAsync(part.Key, part.Bytes(), token).ConfigureAwait(false)).ConfigureAwait(false);
        await store.PutAsync(layout.PlanKey, PlanSerializer.SerializePart(index), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The index of run <paramref name="runId"/>'s plan, or <see langword="null"/> when the store has no such run.</summary>
    /// <exception cref="InvalidDataException">What is stored is not a plan.</exception>
    public static async Task<PlanIndex?> LoadIndexAsync(IObjectStore store, string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var layout = new RunLayout(runId);
        if (await ReadAsync(store, layout.PlanKey, cancellationToken).ConfigureAwait(false) is not { } bytes)
        {
            return null;
        }

        // A whole plan stored before plans were split gives an index marked with its schema version 1.
        return Describe(layout.PlanKey, store, () => PlanSerializer.PeekSchemaVersion(bytes) == 1
            ? PlanChunks.Index(PlanSerializer.Deserialize(bytes)) with { SchemaVersion = 1 }
            : PlanSerializer.DeserializePart<PlanIndex>(bytes));
    }

    /// <summary>The whole plan of run <paramref name="runId"/>, or <see langword="null"/> when the store has no such run.</summary>
    /// <exception cref="InvalidDataException">What is stored is not a plan, or a chunk is missing or damaged.</exception>
    public static async Task<Plan?> LoadAsync(IObjectStore store, string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var layout = new RunLayout(runId);
        if (await ReadAsync(store, layout.PlanKey, cancellationToken).ConfigureAwait(false) is not { } bytes)
        {
            return null;
        }

        if (PlanSerializer.PeekSchemaVersion(bytes) == 1)
        {
            // A whole plan, as Dataflow stored it before plans were split into chunks.
            return Describe(layout.PlanKey, store, () => PlanSerializer.Deserialize(bytes));
        }

        var index = Describe(layout.PlanKey, store, () => PlanSerializer.DeserializePart<PlanIndex>(bytes));
        var inputs = new PlanInputChunk[index.InputChunks];
        var stages = index.Stages.Select((_, s) => new PlanChunk[index.StageChunks(s)]).ToArray();
        var reads = Enumerable.Range(0, inputs.Length).Select(c => (Stage: -1, Chunk: c))
            .Concat(stages.SelectMany((chunks, s) => Enumerable.Range(0, chunks.Length).Select(c => (Stage: s, Chunk: c))));
        await Parallel.ForEachAsync(
            reads,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (read, token) =>
            {
                if (read.Stage < 0)
                {
                    inputs[read.Chunk] = await ReadPartAsync<PlanInputChunk>(store, index, layout.PlanInputChunkKey(read.Chunk), token).ConfigureAwait(false);
                }
                else
                {
                    stages[read.Stage][read.Chunk] = await ReadPartAsync<PlanChunk>(store, index, layout.PlanChunkKey(read.Stage, read.Chunk), token).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        return PlanChunks.Join(index, stages, inputs);
    }

    /// <summary>
    /// The plan of run <paramref name="runId"/> with only tasks <paramref name="first"/> to <paramref name="last"/> of
    /// stage <paramref name="stage"/> loaded (see <see cref="PlanChunks.Partial"/>): what a worker reads.
    /// </summary>
    /// <returns>The partial plan, or <see langword="null"/> when the store has no such run.</returns>
    /// <exception cref="InvalidDataException">What is stored is not a plan, or a chunk is missing or damaged.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The plan has no such stage or tasks; the message names the run and stage.</exception>
    public static async Task<Plan?> LoadTasksAsync(IObjectStore store, string runId, int stage, int first, int last, CancellationToken cancellationToken = default) =>
        await LoadIndexAsync(store, runId, cancellationToken).ConfigureAwait(false) is { } index
            ? await LoadTasksAsync(store, index, stage, first, last, cancellationToken).ConfigureAwait(false)
            : null;

    /// <summary>
    /// The plan of <paramref name="index"/> (read with <see cref="LoadIndexAsync"/>) with only tasks
    /// <paramref name="first"/> to <paramref name="last"/> of stage <paramref name="stage"/> loaded: the index is not
    /// read again.
    /// </summary>
    /// <exception cref="InvalidDataException">A chunk is missing or damaged.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The plan has no such stage or tasks; the message names the run and stage.</exception>
    public static async Task<Plan> LoadTasksAsync(IObjectStore store, PlanIndex index, int stage, int first, int last, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(index);
        CheckRange(index, stage, first, last);
        var layout = new RunLayout(index.RunId);
        if (index.SchemaVersion == 1)
        {
            // A whole plan stored by an earlier build has no chunks: it is read whole.
            return await LoadAsync(store, index.RunId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"the plan of run '{index.RunId}' disappeared from {store.Location} while it was read");
        }

        var chunks = await Task.WhenAll(Enumerable.Range(first / index.ChunkSize, (last / index.ChunkSize) - (first / index.ChunkSize) + 1)
            .Select(c => ReadPartAsync<PlanChunk>(store, index, layout.PlanChunkKey(stage, c), cancellationToken))).ConfigureAwait(false);
        return PlanChunks.Partial(index, chunks);
    }

    /// <summary>Chunk <paramref name="chunk"/> of stage <paramref name="stage"/> of a chunked plan (schema version 2 or later).</summary>
    /// <exception cref="InvalidDataException">The chunk is missing or damaged.</exception>
    public static Task<PlanChunk> LoadChunkAsync(IObjectStore store, PlanIndex index, int stage, int chunk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(index);
        return ReadPartAsync<PlanChunk>(store, index, new RunLayout(index.RunId).PlanChunkKey(stage, chunk), cancellationToken);
    }

    private static void CheckRange(PlanIndex index, int stage, int first, int last)
    {
        if (stage < 0 || stage >= index.Stages.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(stage), stage, $"run '{index.RunId}' of job '{index.Job}' has stages 0 to {index.Stages.Count - 1}, not {stage}");
        }

        var count = index.Stages[stage].Tasks;
        if (first < 0 || last < first || last >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(last), last, $"stage {stage} '{index.Stages[stage].Name}' of run '{index.RunId}' has tasks 0 to {count - 1}; {first}-{last} is out of range");
        }
    }

    private static async Task<T> ReadPartAsync<T>(IObjectStore store, PlanIndex index, string key, CancellationToken cancellationToken)
        where T : class
    {
        var bytes = await ReadAsync(store, key, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"the stored plan of run '{index.RunId}' (job '{index.Job}') is damaged: '{key}' is missing in {store.Location}");
        return Describe(key, store, () => PlanSerializer.DeserializePart<T>(bytes));
    }

    private static async Task<byte[]?> ReadAsync(IObjectStore store, string key, CancellationToken cancellationToken)
    {
        try
        {
            return await store.ReadAllBytesAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    private static T Describe<T>(string key, IObjectStore store, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"'{key}' in {store.Location}: {ex.Message}", ex);
        }
    }
}
