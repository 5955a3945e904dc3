using System.Buffers;
using System.Text.Json;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>Reading the compact chunks of a stored plan (the form is described in PlanChunkCodec.cs).</summary>
internal static partial class PlanChunkCodec
{
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
