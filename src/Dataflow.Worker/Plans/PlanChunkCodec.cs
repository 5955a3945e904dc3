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
internal static class PlanChunkCodec
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

    /// <summary>Reads a chunk of tasks written by <see cref="WriteTaskChunk(IBufferWriter{byte}, Plan, PlanIndex, IReadOnlyDictionary{string, int}, int, int)"/>.</summary>
    /// <param name="utf8Json">The chunk.</param>
    /// <param name="planInputs">
    /// The whole plan's inputs, when the whole plan is read: the tasks' keys are taken from them and the chunk's
    /// <see cref="PlanChunk.Inputs"/> is left empty. <see langword="null"/> for a worker's chunk, which carries its inputs.
    /// </param>
    /// <exception cref="InvalidDataException">The bytes are not such a chunk.</exception>
    public static PlanChunk ReadTaskChunk(ReadOnlySpan<byte> utf8Json, IReadOnlyList<PlanInput>? planInputs = null)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            Next(ref reader, JsonTokenType.StartObject);
            var stage = Int32Property(ref reader, "stage"u8);
            var first = Int32Property(ref reader, "first"u8);
            Property(ref reader, "operators"u8);
            var operators = Strings(ref reader);
            Property(ref reader, "outputs"u8);
            Next(ref reader, JsonTokenType.StartArray);
            var outputs = new List<string[]>();
            while (Read(ref reader) != JsonTokenType.EndArray)
            {
                Expect(ref reader, JsonTokenType.StartArray);
                outputs.Add(StringsAfterStart(ref reader));
            }

            Property(ref reader, "names"u8);
            var names = Strings(ref reader);
            Property(ref reader, "inputs"u8);
            Next(ref reader, JsonTokenType.StartObject);
            Property(ref reader, "index"u8);
            var positions = Int32s(ref reader);
            string[] keys;
            PlanInput[] inputs;
            if (planInputs is null)
            {
                inputs = InputColumns(ref reader, positions.Length);
                keys = new string[inputs.Length];
                for (var i = 0; i < inputs.Length; i++)
                {
                    keys[i] = inputs[i].Key;
                }
            }
            else
            {
                inputs = [];
                keys = new string[positions.Length];
                for (var i = 0; i < positions.Length; i++)
                {
                    keys[i] = (uint)positions[i] < (uint)planInputs.Count
                        ? planInputs[positions[i]].Key
                        : throw Damaged($"input position {positions[i]} is not among the plan's {planInputs.Count} inputs");
                }

                while (Read(ref reader) == JsonTokenType.PropertyName)
                {
                    reader.Read();
                    reader.Skip();
                }

                Expect(ref reader, JsonTokenType.EndObject);
            }

            Property(ref reader, "tasks"u8);
            Next(ref reader, JsonTokenType.StartArray);
            var tasks = new List<PlanTask>();
            var references = new List<ArtifactRef>();
            var producers = new List<TaskId>();
            while (Read(ref reader) != JsonTokenType.EndArray)
            {
                Expect(ref reader, JsonTokenType.StartArray);
                var op = At(operators, Int32(ref reader), "operator");
                var taskOutputs = At(outputs, Int32(ref reader), "output list");
                Next(ref reader, JsonTokenType.StartArray);
                references.Clear();
                while (Read(ref reader) != JsonTokenType.EndArray)
                {
                    references.Add(reader.TokenType switch
                    {
                        JsonTokenType.Number => ArtifactRef.JobInput(At(keys, reader.GetInt32(), "input")),
                        JsonTokenType.StartArray => TaskOutput(ref reader, names),
                        JsonTokenType.StartObject => Range(ref reader, keys),
                        _ => throw Damaged($"a task's reference is a {reader.TokenType}"),
                    });
                }

                var taskInputs = references.ToArray();
                TaskId[] dependsOn;
                if (Read(ref reader) == JsonTokenType.StartArray)
                {
                    var ids = Int32s(ref reader, afterStart: true);
                    if (ids.Length % 2 != 0)
                    {
                        throw Damaged("a task's dependencies are not stage and index pairs");
                    }

                    dependsOn = new TaskId[ids.Length / 2];
                    for (var d = 0; d < dependsOn.Length; d++)
                    {
                        dependsOn[d] = new TaskId(ids[2 * d], ids[(2 * d) + 1]);
                    }

                    Next(ref reader, JsonTokenType.EndArray);
                }
                else
                {
                    Expect(ref reader, JsonTokenType.EndArray);
                    Producers(taskInputs, producers);
                    dependsOn = producers.Count == 0 ? [] : [.. producers];
                }

                tasks.Add(new PlanTask { Operator = op, Inputs = taskInputs, Outputs = taskOutputs, DependsOn = dependsOn });
            }

            Next(ref reader, JsonTokenType.EndObject);
            return new PlanChunk { Stage = stage, First = first, Tasks = tasks, Inputs = inputs };
        }
        catch (JsonException ex)
        {
            throw Damaged(ex.Message, ex);
        }
    }

    /// <summary>Reads a chunk of inputs written by <see cref="WriteInputChunk(IBufferWriter{byte}, Plan, PlanIndex, int)"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a chunk.</exception>
    public static PlanInputChunk ReadInputChunk(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            Next(ref reader, JsonTokenType.StartObject);
            var first = Int32Property(ref reader, "first"u8);
            var inputs = InputColumns(ref reader, count: null);
            return new PlanInputChunk { First = first, Inputs = inputs };
        }
        catch (JsonException ex)
        {
            throw Damaged(ex.Message, ex);
        }
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

    // Reads "keys", "sizes" and the optional "etags", then the end of the object that holds them.
    private static PlanInput[] InputColumns(ref Utf8JsonReader reader, int? count)
    {
        Property(ref reader, "keys"u8);
        Next(ref reader, JsonTokenType.StartArray);
        var keys = new List<string>(count ?? 0);
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            keys.Add(String(ref reader));
        }

        if (count is { } expected && keys.Count != expected)
        {
            throw Damaged($"it has {keys.Count} input keys for {expected} input positions");
        }

        Property(ref reader, "sizes"u8);
        Next(ref reader, JsonTokenType.StartArray);
        var inputs = new PlanInput[keys.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            Next(ref reader, JsonTokenType.Number);
            inputs[i] = new PlanInput(keys[i], reader.GetInt64());
        }

        Next(ref reader, JsonTokenType.EndArray);
        if (Read(ref reader) == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("etags"u8))
            {
                throw Damaged($"'{reader.GetString()}' is not a column of inputs");
            }

            Next(ref reader, JsonTokenType.StartArray);
            for (var i = 0; i < inputs.Length; i++)
            {
                inputs[i] = Read(ref reader) == JsonTokenType.Null ? inputs[i] : inputs[i] with { ETag = String(ref reader) };
            }

            Next(ref reader, JsonTokenType.EndArray);
            Read(ref reader);
        }

        Expect(ref reader, JsonTokenType.EndObject);
        return inputs;
    }

    private static ArtifactRef TaskOutput(ref Utf8JsonReader reader, string[] names)
    {
        var stage = Int32(ref reader);
        var index = Int32(ref reader);
        var name = At(names, Int32(ref reader), "output name");
        Next(ref reader, JsonTokenType.EndArray);
        return ArtifactRef.TaskOutput(new TaskId(stage, index), name);
    }

    private static ArtifactRef Range(ref Utf8JsonReader reader, string[] keys)
    {
        var key = At(keys, Int32Property(ref reader, "input"u8), "input");
        Property(ref reader, "offset"u8);
        Next(ref reader, JsonTokenType.Number);
        var offset = reader.GetInt64();
        Property(ref reader, "length"u8);
        Next(ref reader, JsonTokenType.Number);
        var length = reader.GetInt64();
        Next(ref reader, JsonTokenType.EndObject);
        return offset >= 0 && length >= 0 ? ArtifactRef.JobInputRange(key, offset, length) : throw Damaged($"a range of '{key}' is negative");
    }

    private static string[] Strings(ref Utf8JsonReader reader)
    {
        Next(ref reader, JsonTokenType.StartArray);
        return StringsAfterStart(ref reader);
    }

    private static string[] StringsAfterStart(ref Utf8JsonReader reader)
    {
        var values = new List<string>();
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            values.Add(String(ref reader));
        }

        return [.. values];
    }

    private static int[] Int32s(ref Utf8JsonReader reader, bool afterStart = false)
    {
        if (!afterStart)
        {
            Next(ref reader, JsonTokenType.StartArray);
        }

        var values = new List<int>();
        while (Read(ref reader) == JsonTokenType.Number)
        {
            values.Add(reader.GetInt32());
        }

        Expect(ref reader, JsonTokenType.EndArray);
        return [.. values];
    }

    private static string String(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.String);
        return reader.GetString()!;
    }

    private static int Int32(ref Utf8JsonReader reader)
    {
        Next(ref reader, JsonTokenType.Number);
        return reader.GetInt32();
    }

    private static int Int32Property(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        Property(ref reader, name);
        return Int32(ref reader);
    }

    private static void Property(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        Next(ref reader, JsonTokenType.PropertyName);
        if (!reader.ValueTextEquals(name))
        {
            throw Damaged($"'{reader.GetString()}' where '{System.Text.Encoding.UTF8.GetString(name)}' belongs");
        }
    }

    private static JsonTokenType Read(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw Damaged("it ends early");

    private static void Next(ref Utf8JsonReader reader, JsonTokenType expected)
    {
        Read(ref reader);
        Expect(ref reader, expected);
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType expected)
    {
        if (reader.TokenType != expected)
        {
            throw Damaged($"a {reader.TokenType} at byte {reader.TokenStartIndex} where a {expected} belongs");
        }
    }

    private static T At<T>(IReadOnlyList<T> table, int position, string what) =>
        (uint)position < (uint)table.Count ? table[position] : throw Damaged($"{what} {position} is not in the chunk's table of {table.Count}");

    private static InvalidDataException Damaged(string problem, Exception? inner = null) =>
        new($"not a Dataflow plan chunk: {problem}", inner);
}
