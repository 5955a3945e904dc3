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
        var positions = new Dictionary<string, int>(plan.Inputs.Count, StringComparer.Ordinal);
        for (var i = 0; i < plan.Inputs.Count; i++)
        {
            positions.TryAdd(plan.Inputs[i].Key, i);
        }

        var parts = new List<(string Key, Action<PooledBufferWriter> Write)>();
        for (var c = 0; c < index.InputChunks; c++)
        {
            var chunk = c;
            parts.Add((layout.PlanInputChunkKey(chunk), buffer => PlanChunkCodec.WriteInputChunk(buffer, plan, index, chunk)));
        }

        for (var s = 0; s < index.Stages.Count; s++)
        {
            for (var c = 0; c < index.StageChunks(s); c++)
            {
                var (stage, chunk) = (s, c);
                parts.Add((layout.PlanChunkKey(stage, chunk), buffer => PlanChunkCodec.WriteTaskChunk(buffer, plan, index, positions, stage, chunk)));
            }
        }

        await Parallel.ForEachAsync(
            parts,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (part, token) =>
            {
                using var buffer = new PooledBufferWriter(128 * 1024);
                part.Write(buffer);
                await store.PutAsync(part.Key, buffer.WrittenMemory, token).ConfigureAwait(false);
            }).ConfigureAwait(false);
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
        return Describe(layout.PlanKey, store, () => SchemaVersion(runId, bytes) == 1
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

        if (Describe(layout.PlanKey, store, () => SchemaVersion(runId, bytes)) == 1)
        {
            // A whole plan, as Dataflow stored it before plans were split into chunks.
            return Describe(layout.PlanKey, store, () => PlanSerializer.Deserialize(bytes));
        }

        var index = Describe(layout.PlanKey, store, () => PlanSerializer.DeserializePart<PlanIndex>(bytes));
        var options = new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken };
        var inputs = new PlanInputChunk[index.InputChunks];
        await Parallel.ForAsync(0, inputs.Length, options, async (c, token) =>
            inputs[c] = await ReadPartAsync(store, index, layout.PlanInputChunkKey(c), InputChunk(index), token).ConfigureAwait(false)).ConfigureAwait(false);

        // The input list first: a compact chunk's tasks take their keys from it instead of reading their own.
        var planInputs = PlanChunks.JoinInputs(index, inputs);
        var stages = index.Stages.Select((_, s) => new PlanChunk[index.StageChunks(s)]).ToArray();
        var reads = stages.SelectMany((chunks, s) => Enumerable.Range(0, chunks.Length).Select(c => (Stage: s, Chunk: c)));
        await Parallel.ForEachAsync(reads, options, async (read, token) =>
            stages[read.Stage][read.Chunk] = await ReadPartAsync(store, index, layout.PlanChunkKey(read.Stage, read.Chunk), TaskChunk(index, planInputs), token).ConfigureAwait(false)).ConfigureAwait(false);
        return PlanChunks.Join(index, stages, planInputs);
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
            .Select(c => ReadPartAsync(store, index, layout.PlanChunkKey(stage, c), TaskChunk(index, null), cancellationToken))).ConfigureAwait(false);
        return PlanChunks.Partial(index, chunks);
    }

    /// <summary>Chunk <paramref name="chunk"/> of stage <paramref name="stage"/> of a chunked plan (schema version 2 or later).</summary>
    /// <exception cref="InvalidDataException">The chunk is missing or damaged.</exception>
    public static Task<PlanChunk> LoadChunkAsync(IObjectStore store, PlanIndex index, int stage, int chunk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(index);
        return ReadPartAsync(store, index, new RunLayout(index.RunId).PlanChunkKey(stage, chunk), TaskChunk(index, null), cancellationToken);
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

    // Chunks as the index's schema version stores them: compact (3) or an object per task (2).
    private static Func<byte[], PlanChunk> TaskChunk(PlanIndex index, IReadOnlyList<PlanInput>? planInputs) =>
        index.SchemaVersion >= 3 ? bytes => PlanChunkCodec.ReadTaskChunk(bytes, planInputs) : bytes => PlanSerializer.DeserializePart<PlanChunk>(bytes);

    private static Func<byte[], PlanInputChunk> InputChunk(PlanIndex index) =>
        index.SchemaVersion >= 3 ? bytes => PlanChunkCodec.ReadInputChunk(bytes) : bytes => PlanSerializer.DeserializePart<PlanInputChunk>(bytes);

    private static async Task<T> ReadPartAsync<T>(IObjectStore store, PlanIndex index, string key, Func<byte[], T> parse, CancellationToken cancellationToken)
    {
        var bytes = await ReadAsync(store, key, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"the stored plan of run '{index.RunId}' (job '{index.Job}') is damaged: '{key}' is missing in {store.Location}");
        try
        {
            return parse(bytes);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"the stored plan of run '{index.RunId}' (job '{index.Job}') is damaged: '{key}' in {store.Location}: {ex.Message}", ex);
        }
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

    // A plan stored by a newer Dataflow is refused before its parts are read: they may be in a form this one does not know.
    private static int SchemaVersion(string runId, byte[] bytes)
    {
        var version = PlanSerializer.PeekSchemaVersion(bytes);
        return version <= PlanIndex.CurrentSchemaVersion
            ? version
            : throw new InvalidDataException(
                $"the plan of run '{runId}' has schema version {version}, from a newer Dataflow; this one ({DataflowInfo.Version}) reads versions 1 to {PlanIndex.CurrentSchemaVersion}: resume the run with the Dataflow that planned it");
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
