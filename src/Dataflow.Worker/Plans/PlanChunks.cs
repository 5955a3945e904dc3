using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// Splits a plan into the index and chunks it is stored as, and puts it together again: whole, or only the tasks a
/// worker runs.
/// </summary>
internal static class PlanChunks
{
    /// <summary>
    /// Tasks (and inputs) per chunk by default. A compact chunk of 2,048 tree tasks over job inputs is about as many
    /// bytes as a chunk of 1,000 was in schema version 2 (about 100 kB), so a worker reads what it read before, and a
    /// plan of a million tasks is about 1,000 objects, not 2,000: storing it costs mostly the store's per-object work.
    /// </summary>
    public const int DefaultChunkSize = 2048;

    /// <summary>The index of <paramref name="plan"/> for chunks of <paramref name="chunkSize"/>.</summary>
    public static PlanIndex Index(Plan plan, int chunkSize = DefaultChunkSize)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        return new PlanIndex
        {
            DataflowVersion = plan.DataflowVersion,
            Job = plan.Job,
            RunId = plan.RunId,
            CreatedAt = plan.CreatedAt,
            Arguments = plan.Arguments,
            Cache = plan.Cache,
            ChunkSize = chunkSize,
            InputCount = plan.Inputs.Count,
            Stages = [.. plan.Stages.Select(s => new PlanStageIndex(s.Name, s.Tasks.Count))],
            Outputs = plan.Outputs,
        };
    }

    /// <summary>Chunk <paramref name="chunk"/> of stage <paramref name="stage"/>.</summary>
    public static PlanChunk TaskChunk(Plan plan, PlanIndex index, IReadOnlyDictionary<string, PlanInput> planInputs, int stage, int chunk)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(planInputs);
        var tasks = plan.Stages[stage].Tasks;
        var (first, count) = index.ChunkRange(tasks.Count, chunk);
        var slice = new PlanTask[count];
        var inputs = new List<PlanInput>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            slice[i] = tasks[first + i];
            foreach (var input in slice[i].Inputs)
            {
                if (input.Key is { } key && seen.Add(key) && planInputs.TryGetValue(key, out var planInput))
                {
                    inputs.Add(planInput);
                }
            }
        }

        return new PlanChunk { Stage = stage, First = first, Tasks = slice, Inputs = inputs };
    }

    /// <summary>Chunk <paramref name="chunk"/> of the input list.</summary>
    public static PlanInputChunk InputChunk(Plan plan, PlanIndex index, int chunk)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(index);
        var (first, count) = index.ChunkRange(plan.Inputs.Count, chunk);
        return new PlanInputChunk { First = first, Inputs = [.. plan.Inputs.Skip(first).Take(count)] };
    }

    /// <summary>Puts a whole plan together from its index and every chunk.</summary>
    /// <exception cref="InvalidDataException">A chunk is missing, misplaced or of the wrong size.</exception>
    public static Plan Join(PlanIndex index, IReadOnlyList<IReadOnlyList<PlanChunk>> stageChunks, IReadOnlyList<PlanInputChunk> inputChunks) =>
        Join(index, stageChunks, JoinInputs(index, inputChunks));

    /// <summary>Puts a whole plan together from its index, its input list (<see cref="JoinInputs"/>) and every chunk of tasks.</summary>
    /// <exception cref="InvalidDataException">A chunk is missing, misplaced or of the wrong size.</exception>
    public static Plan Join(PlanIndex index, IReadOnlyList<IReadOnlyList<PlanChunk>> stageChunks, IReadOnlyList<PlanInput> inputs)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(stageChunks);
        ArgumentNullException.ThrowIfNull(inputs);
        var stages = new PlanStage[index.Stages.Count];
        for (var s = 0; s < stages.Length; s++)
        {
            var tasks = new List<PlanTask>(index.Stages[s].Tasks);
            foreach (var chunk in stageChunks[s])
            {
                Expect(chunk.Stage == s && chunk.First == tasks.Count, index, $"chunk of stage {chunk.Stage} starting at task {chunk.First} is out of place (expected stage {s}, task {tasks.Count})");
                tasks.AddRange(chunk.Tasks);
            }

            Expect(tasks.Count == index.Stages[s].Tasks, index, $"stage {s} has {tasks.Count} tasks in its chunks, not {index.Stages[s].Tasks}");
            stages[s] = new PlanStage { Name = index.Stages[s].Name, Tasks = tasks };
        }

        return FromIndex(index, inputs, stages);
    }

    /// <summary>The plan's input list from its chunks, in order.</summary>
    /// <exception cref="InvalidDataException">A chunk is missing, misplaced or of the wrong size.</exception>
    public static IReadOnlyList<PlanInput> JoinInputs(PlanIndex index, IReadOnlyList<PlanInputChunk> inputChunks)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(inputChunks);
        var inputs = new List<PlanInput>(index.InputCount);
        foreach (var chunk in inputChunks)
        {
            Expect(chunk.First == inputs.Count, index, $"input chunk starting at {chunk.First} is out of place (expected {inputs.Count})");
            inputs.AddRange(chunk.Inputs);
        }

        Expect(inputs.Count == index.InputCount, index, $"its input chunks hold {inputs.Count} inputs, not {index.InputCount}");
        return inputs;
    }

    /// <summary>
    /// A plan that holds only the tasks of <paramref name="chunks"/> (of one or more stages) and the inputs they read:
    /// every other task of every stage is counted but not there (<see cref="PartialTaskList"/>). What a worker runs from.
    /// </summary>
    /// <exception cref="InvalidDataException">A chunk does not fit the index.</exception>
    public static Plan Partial(PlanIndex index, IEnumerable<PlanChunk> chunks)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(chunks);
        var byStage = new Dictionary<int, List<PlanChunk>>();
        var inputs = new Dictionary<string, PlanInput>(StringComparer.Ordinal);
        foreach (var chunk in chunks)
        {
            Expect(chunk.Stage >= 0 && chunk.Stage < index.Stages.Count && chunk.First >= 0 && chunk.First + chunk.Tasks.Count <= index.Stages[chunk.Stage].Tasks, index, $"chunk of stage {chunk.Stage} at task {chunk.First} does not fit the plan");
            (byStage.TryGetValue(chunk.Stage, out var list) ? list : byStage[chunk.Stage] = []).Add(chunk);
            foreach (var input in chunk.Inputs)
            {
                inputs.TryAdd(input.Key, input);
            }
        }

        var stages = new PlanStage[index.Stages.Count];
        for (var s = 0; s < stages.Length; s++)
        {
            stages[s] = new PlanStage
            {
                Name = index.Stages[s].Name,
                Tasks = new PartialTaskList(index.Job, s, index.Stages[s].Tasks, byStage.TryGetValue(s, out var list) ? list : []),
            };
        }

        return FromIndex(index, [.. inputs.Values], stages);
    }

    private static Plan FromIndex(PlanIndex index, IReadOnlyList<PlanInput> inputs, IReadOnlyList<PlanStage> stages) => new()
    {
        DataflowVersion = index.DataflowVersion,
        Job = index.Job,
        RunId = index.RunId,
        CreatedAt = index.CreatedAt,
        Arguments = index.Arguments,
        Cache = index.Cache,
        Inputs = inputs,
        Stages = stages,
        Outputs = index.Outputs,
    };

    private static void Expect(bool condition, PlanIndex index, string problem)
    {
        if (!condition)
        {
            throw new InvalidDataException($"the stored plan of run '{index.RunId}' (job '{index.Job}') is damaged: {problem}");
        }
    }
}

/// <summary>
/// A stage's task list of which only some chunks are loaded: its count is the stage's, and reading a task that is not
/// loaded throws <see cref="InvalidOperationException"/> naming it.
/// </summary>
internal sealed class PartialTaskList : IReadOnlyList<PlanTask>
{
    private readonly string _job;
    private readonly int _stage;
    private readonly IReadOnlyList<PlanChunk> _chunks;

    internal PartialTaskList(string job, int stage, int count, IReadOnlyList<PlanChunk> chunks)
    {
        _job = job;
        _stage = stage;
        Count = count;
        _chunks = chunks;
    }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public PlanTask this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            foreach (var chunk in _chunks)
            {
                if (index >= chunk.First && index < chunk.First + chunk.Tasks.Count)
                {
                    return chunk.Tasks[index - chunk.First];
                }
            }

            throw new InvalidOperationException($"task {new TaskId(_stage, index)} of job '{_job}' is not among the tasks loaded from the stored plan");
        }
    }

    /// <summary>Loaded tasks only would break indexes: enumerating a partial list is refused.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public IEnumerator<PlanTask> GetEnumerator() =>
        throw new NotSupportedException($"stage {_stage} of job '{_job}' is only partly loaded; read its tasks by index");

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
