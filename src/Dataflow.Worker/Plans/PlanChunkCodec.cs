using System.Buffers;
using System.Text.Json;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// The compact form of a stored plan's chunks (index schema version 3): still JSON, but a chunk's columns instead of
/// an object per task, written and read by hand with <see cref="Utf8JsonWriter"/> and <see cref="Utf8JsonReader"/>.
/// A chunk of tasks:
/// <code>
/// {"stage":1,"first":0,"operators":["concat"],"outputs":[["out"]],"names":["out"],
///  "inputs":{"index":[…],"keys":[…],"sizes":[…],"etags":[…]},
///  "tasks":[[operator, outputs, [reference, …]], [operator, outputs, [reference, …], [stage, index, …]], …]}
/// </code>
/// A task's operator and output names are positions in <c>operators</c> and <c>outputs</c>. A reference is a number
/// (the whole job input at that position of <c>inputs</c>), <c>{"input":i,"offset":o,"length":n}</c> (a range of
/// one), or <c>[stage, index, name]</c> (output <c>names[name]</c> of a task). A task's dependencies are left out when
/// they are the producers of its references, once each in order of first reference (every task a planner makes);
/// otherwise they follow as stage and index pairs. <c>inputs</c> holds each job input the chunk's tasks read, once:
/// its position in the plan's inputs (<c>index</c>), key, size and entity tag (<c>etags</c>, left out when no input
/// has one), so that a worker needs nothing else, and a reader of the whole plan takes the keys from the plan's own
/// inputs. A chunk of inputs is <c>{"first":0,"keys":[…],"sizes":[…],"etags":[…]}</c>.
/// </summary>
/// <remarks>
/// Per-task objects through System.Text.Json (schema version 2) read a plan of a million tasks in about 13 s, mostly
/// in the serializer's per-object state and the garbage collector; this form writes and reads the same plan in a
/// fraction of that, and repeats no key.
/// </remarks>
internal static partial class PlanChunkCodec
{
    private static readonly JsonWriterOptions s_writerOptions = new() { SkipValidation = true };

    /// <summary>Chunk <paramref name="chunk"/> of stage <paramref name="stage"/> in the compact form.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="index">The plan's index.</param>
    /// <param name="inputPositions">The position of each job input in <see cref="Plan.Inputs"/>, by key.</param>
    /// <param name="stage">The stage.</param>
    /// <param name="chunk">The chunk of the stage.</param>
    /// <exception cref="InvalidOperationException">A task reads an object that is not among the plan's inputs (a plan that was never validated).</exception>
    public static byte[] WriteTaskChunk(Plan plan, PlanIndex index, IReadOnlyDictionary<string, int> inputPositions, int stage, int chunk)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        WriteTaskChunk(buffer, plan, index, inputPositions, stage, chunk);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes chunk <paramref name="chunk"/> of stage <paramref name="stage"/> in the compact form to <paramref name="destination"/>.</summary>
    /// <inheritdoc cref="WriteTaskChunk(Plan, PlanIndex, IReadOnlyDictionary{string, int}, int, int)"/>
    public static void WriteTaskChunk(IBufferWriter<byte> destination, Plan plan, PlanIndex index, IReadOnlyDictionary<string, int> inputPositions, int stage, int chunk)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(inputPositions);
        var tasks = plan.Stages[stage].Tasks;
        var (first, count) = index.ChunkRange(tasks.Count, chunk);
        var operators = new List<string>();
        var outputs = new List<IReadOnlyList<string>>();
        var names = new List<string>();
        var inputs = new List<int>();
        var local = new Dictionary<int, int>();
        var references = new List<int>();
        for (var t = first; t < first + count; t++)
        {
            var task = tasks[t];
            Position(operators, task.Operator);
            Position(outputs, task.Outputs);
            for (var i = 0; i < task.Inputs.Count; i++)
            {
                var input = task.Inputs[i];
                if (input.Key is { } key)
                {
                    if (!inputPositions.TryGetValue(key, out var position))
                    {
                        throw new InvalidOperationException($"task {new TaskId(stage, t)} of job '{plan.Job}' reads '{key}', which is not among the plan's inputs");
                    }

                    if (!local.TryGetValue(position, out var at))
                    {
                        local.Add(position, at = inputs.Count);
                        inputs.Add(position);
                    }

                    references.Add(at);
                }
                else
                {
                    references.Add(Position(names, input.Output!));
                }
            }
        }

        using (var writer = new Utf8JsonWriter(destination, s_writerOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("stage"u8, stage);
            writer.WriteNumber("first"u8, first);
            WriteStrings(writer, "operators"u8, operators);
            writer.WriteStartArray("outputs"u8);
            foreach (var list in outputs)
            {
                WriteStrings(writer, default, list);
            }

            writer.WriteEndArray();
            WriteStrings(writer, "names"u8, names);
            writer.WriteStartObject("inputs"u8);
            writer.WriteStartArray("index"u8);
            foreach (var position in inputs)
            {
                writer.WriteNumberValue(position);
            }

            writer.WriteEndArray();
            WriteInputColumns(writer, plan.Inputs, inputs, 0, inputs.Count);
            writer.WriteEndObject();
            writer.WriteStartArray("tasks"u8);
            var r = 0;
            var producers = new List<TaskId>();
            for (var t = first; t < first + count; t++)
            {
                var task = tasks[t];
                writer.WriteStartArray();
                writer.WriteNumberValue(Position(operators, task.Operator));
                writer.WriteNumberValue(Position(outputs, task.Outputs));
                writer.WriteStartArray();
                for (var i = 0; i < task.Inputs.Count; i++, r++)
                {
                    var input = task.Inputs[i];
                    if (input.Key is null)
                    {
                        writer.WriteStartArray();
                        writer.WriteNumberValue(input.Task!.Value.Stage);
                        writer.WriteNumberValue(input.Task.Value.Index);
                        writer.WriteNumberValue(references[r]);
                        writer.WriteEndArray();
                    }
                    else if (input.Offset is { } offset)
                    {
                        writer.WriteStartObject();
                        writer.WriteNumber("input"u8, references[r]);
                        writer.WriteNumber("offset"u8, offset);
                        writer.WriteNumber("length"u8, input.Length!.Value);
                        writer.WriteEndObject();
                    }
                    else
                    {
                        writer.WriteNumberValue(references[r]);
                    }
                }

                writer.WriteEndArray();
                Producers(task.Inputs, producers);
                if (!SameIds(producers, task.DependsOn))
                {
                    writer.WriteStartArray();
                    foreach (var dependency in task.DependsOn)
                    {
                        writer.WriteNumberValue(dependency.Stage);
                        writer.WriteNumberValue(dependency.Index);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }
    }

    /// <summary>Chunk <paramref name="chunk"/> of the plan's input list in the compact form.</summary>
    public static byte[] WriteInputChunk(Plan plan, PlanIndex index, int chunk)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        WriteInputChunk(buffer, plan, index, chunk);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes chunk <paramref name="chunk"/> of the plan's input list in the compact form to <paramref name="destination"/>.</summary>
    public static void WriteInputChunk(IBufferWriter<byte> destination, Plan plan, PlanIndex index, int chunk)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(index);
        var (first, count) = index.ChunkRange(plan.Inputs.Count, chunk);
        using var writer = new Utf8JsonWriter(destination, s_writerOptions);
        writer.WriteStartObject();
        writer.WriteNumber("first"u8, first);
        WriteInputColumns(writer, plan.Inputs, null, first, count);
        writer.WriteEndObject();
    }

    private static int Position<T>(List<T> table, T item)
        where T : class
    {
        // Tables hold a handful of entries, and planners share one instance per stage: a reference match is the rule.
        for (var i = 0; i < table.Count; i++)
        {
            if (ReferenceEquals(table[i], item))
            {
                return i;
            }
        }

        for (var i = 0; i < table.Count; i++)
        {
            if (item is IReadOnlyList<string> list ? list.SequenceEqual((IReadOnlyList<string>)table[i], StringComparer.Ordinal) : item.Equals(table[i]))
            {
                return i;
            }
        }

        table.Add(item);
        return table.Count - 1;
    }

    // The producers of a task's references, once each, in order of first reference: the dependencies left implicit.
    private static void Producers(IReadOnlyList<ArtifactRef> inputs, List<TaskId> producers)
    {
        producers.Clear();
        HashSet<TaskId>? seen = null;
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Task is not { } task)
            {
                continue;
            }

            if (producers.Count < 16)
            {
                if (!producers.Contains(task))
                {
                    producers.Add(task);
                }
            }
            else if ((seen ??= [.. producers]).Add(task))
            {
                producers.Add(task);
            }
        }
    }

    private static bool SameIds(List<TaskId> producers, IReadOnlyList<TaskId> dependsOn)
    {
        if (producers.Count != dependsOn.Count)
        {
            return false;
        }

        for (var i = 0; i < producers.Count; i++)
        {
            if (producers[i] != dependsOn[i])
            {
                return false;
            }
        }

        return true;
    }

    private static void WriteStrings(Utf8JsonWriter writer, ReadOnlySpan<byte> name, IReadOnlyList<string> values)
    {
        if (name.IsEmpty)
        {
            writer.WriteStartArray();
        }
        else
        {
            writer.WriteStartArray(name);
        }

        for (var i = 0; i < values.Count; i++)
        {
            writer.WriteStringValue(values[i]);
        }

        writer.WriteEndArray();
    }

    // The keys, sizes and entity tags of inputs[positions[first…]] (or of inputs[first…] without positions).
    private static void WriteInputColumns(Utf8JsonWriter writer, IReadOnlyList<PlanInput> inputs, List<int>? positions, int first, int count)
    {
        PlanInput At(int i) => inputs[positions is null ? first + i : positions[first + i]];
        writer.WriteStartArray("keys"u8);
        var etags = false;
        for (var i = 0; i < count; i++)
        {
            var input = At(i);
            writer.WriteStringValue(input.Key);
            etags |= input.ETag is not null;
        }

        writer.WriteEndArray();
        writer.WriteStartArray("sizes"u8);
        for (var i = 0; i < count; i++)
        {
            writer.WriteNumberValue(At(i).Size);
        }

        writer.WriteEndArray();
        if (etags)
        {
            writer.WriteStartArray("etags"u8);
            for (var i = 0; i < count; i++)
            {
                if (At(i).ETag is { } etag)
                {
                    writer.WriteStringValue(etag);
                }
                else
                {
                    writer.WriteNullValue();
                }
            }

            writer.WriteEndArray();
        }
    }
}
