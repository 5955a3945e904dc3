using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// The cache keys of a plan's tasks: for each task, the SHA-256 of what decides its outputs — the job, the operator's
/// name and declared version (<see cref="IObjectOperator.Version"/>), the task's output names and which of them are
/// final, and its inputs in order: a job input object by key, byte range, size and fingerprint (its entity tag on S3,
/// its file's identity and modification time on a folder, or a hash of its bytes when asked), a task output by its
/// producer's key and the output's name. Keys chain like a Merkle tree: an input that changes changes the keys on its
/// path to the final outputs and nowhere else. A task has no key — it is never cached — when its operator declares no
/// version, an input has no fingerprint, or a producer has no key.
/// </summary>
internal sealed class TaskKeys
{
    /// <summary>The length of a key in hex digits.</summary>
    public const int HexLength = 64;

    private const string Scheme = "dataflow-task-key/1";
    private static readonly byte[] s_magic = "DFK1"u8.ToArray();

    private readonly string?[][] _keys;

    private TaskKeys(string?[][] keys, IReadOnlyList<string> uncacheable)
    {
        _keys = keys;
        Uncacheable = uncacheable;
    }

    /// <summary>Why tasks have no key (at most one line per operator or input), for the run's summary.</summary>
    public IReadOnlyList<string> Uncacheable { get; }

    /// <summary>The key of <paramref name="task"/> (64 hex digits), or <see langword="null"/> when it is never cached.</summary>
    public string? this[TaskId task] => _keys[task.Stage][task.Index];

    /// <summary>How many tasks have a key.</summary>
    public int Count => _keys.Sum(s => s.Count(k => k is not null));

    /// <summary>
    /// Computes the keys of <paramref name="plan"/>'s tasks, the job input objects fingerprinted by
    /// <paramref name="fingerprints"/> (a key missing there, or mapped to <see langword="null"/>, has no fingerprint).
    /// </summary>
    public static TaskKeys Compute(Plan plan, Job job, IReadOnlyDictionary<string, string?> fingerprints)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(fingerprints);
        var inputs = new Dictionary<string, PlanInput>(plan.Inputs.Count, StringComparer.Ordinal);
        foreach (var input in plan.Inputs)
        {
            inputs.TryAdd(input.Key, input);
        }

        var finals = plan.Outputs.Select(o => (o.Task, o.Output)).ToHashSet();
        var keys = plan.Stages.Select(s => new string?[s.Tasks.Count]).ToArray();
        var state = plan.Stages.Select(s => new byte[s.Tasks.Count]).ToArray(); // 0 new, 1 computing, 2 done
        var uncacheable = new SortedSet<string>(StringComparer.Ordinal);
        var buffer = new ArrayBufferWriterLite();

        string? KeyOf(TaskId id)
        {
            switch (state[id.Stage][id.Index])
            {
                case 2:
                    return keys[id.Stage][id.Index];
                case 1:
                    throw new InvalidDataException($"the plan of run '{plan.RunId}' has a cycle through task {id}");
            }

            state[id.Stage][id.Index] = 1;
            var key = Hash(id);
            keys[id.Stage][id.Index] = key;
            state[id.Stage][id.Index] = 2;
            return key;
        }

        string? Hash(TaskId id)
        {
            var task = plan.GetTask(id);
            var op = job.Operators.GetValueOrDefault(task.Operator);
            if (op?.Version is not { } version)
            {
                uncacheable.Add(op is null
                    ? $"operator '{task.Operator}' is not defined by this job"
                    : $"operator '{task.Operator}' declares no Version");
                return null;
            }

            // Producers first: their keys are part of this one.
            var producerKeys = new string?[task.Inputs.Count];
            for (var i = 0; i < task.Inputs.Count; i++)
            {
                if (task.Inputs[i].Task is { } producer && KeyOf(producer) is not { } producerKey)
                {
                    return null;
                }

                producerKeys[i] = task.Inputs[i].Task is { } p ? keys[p.Stage][p.Index] : null;
            }

            buffer.Clear();
            buffer.Add(Scheme);
            buffer.Add(plan.Job);
            buffer.Add(task.Operator);
            buffer.Add(version);
            buffer.Add(task.Outputs.Count);
            foreach (var output in task.Outputs)
            {
                buffer.Add(output);
                buffer.Add(finals.Contains((id, output)) ? 1 : 0);
            }

            buffer.Add(task.Inputs.Count);
            for (var i = 0; i < task.Inputs.Count; i++)
            {
                var input = task.Inputs[i];
                if (input.Key is { } objectKey)
                {
                    if (!inputs.TryGetValue(objectKey, out var listed) || fingerprints.GetValueOrDefault(objectKey) is not { } fingerprint)
                    {
                        uncacheable.Add($"input '{objectKey}' has no fingerprint (the store gave no entity tag)");
                        return null;
                    }

                    buffer.Add("object");
                    buffer.Add(objectKey);
                    buffer.Add(input.Offset ?? -1);
                    buffer.Add(input.Length ?? -1);
                    buffer.Add(listed.Size);
                    buffer.Add(fingerprint);
                }
                else
                {
                    buffer.Add("task");
                    buffer.Add(producerKeys[i]!);
                    buffer.Add(input.Output!);
                }
            }

            return Convert.ToHexStringLower(SHA256.HashData(buffer.Written));
        }

        foreach (var id in plan.TaskIds())
        {
            KeyOf(id);
        }

        return new TaskKeys(keys, [.. uncacheable.Take(20)]);
    }

    /// <summary>The keys as stored with the run (<see cref="RunLayout.CacheKeysKey"/>): so that a resumed driver uses the keys its run started with.</summary>
    public byte[] Serialize()
    {
        var size = s_magic.Length + 4 + (_keys.Length * 4) + _keys.Sum(s => s.Length * 33);
        var bytes = new byte[size];
        s_magic.CopyTo(bytes, 0);
        var at = s_magic.Length;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), _keys.Length);
        at += 4;
        foreach (var stage in _keys)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), stage.Length);
            at += 4;
            foreach (var key in stage)
            {
                bytes[at++] = key is null ? (byte)0 : (byte)1;
                if (key is not null)
                {
                    Convert.FromHexString(key, bytes.AsSpan(at, 32), out _, out _);
                }

                at += 32;
            }
        }

        return bytes;
    }

    /// <summary>Reads keys stored by <see cref="Serialize"/> for <paramref name="plan"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not keys of this plan's shape.</exception>
    public static TaskKeys Deserialize(ReadOnlySpan<byte> bytes, Plan plan, string key)
    {
        ArgumentNullException.ThrowIfNull(plan);
        InvalidDataException Bad(string why) => new($"the cache keys '{key}' of run '{plan.RunId}' cannot be read: {why}");
        if (bytes.Length < s_magic.Length + 4 || !bytes.StartsWith(s_magic))
        {
            throw Bad("not a keys record");
        }

        var at = s_magic.Length;
        var stages = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
        at += 4;
        if (stages != plan.Stages.Count)
        {
            throw Bad($"{stages} stages, the plan has {plan.Stages.Count}");
        }

        var keys = new string?[stages][];
        for (var s = 0; s < stages; s++)
        {
            if (bytes.Length < at + 4)
            {
                throw Bad("cut short");
            }

            var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
            at += 4;
            if (count != plan.Stages[s].Tasks.Count || bytes.Length < at + ((long)count * 33))
            {
                throw Bad($"stage {s} does not match the plan, or is cut short");
            }

            keys[s] = new string?[count];
            for (var t = 0; t < count; t++)
            {
                keys[s][t] = bytes[at] == 1 ? Convert.ToHexStringLower(bytes.Slice(at + 1, 32)) : null;
                at += 33;
            }
        }

        return new TaskKeys(keys, []);
    }

    /// <summary>Length-prefixed fields, so that no two different tasks hash the same bytes.</summary>
    private sealed class ArrayBufferWriterLite
    {
        private byte[] _bytes = new byte[1024];
        private int _length;

        public ReadOnlySpan<byte> Written => _bytes.AsSpan(0, _length);

        public void Clear() => _length = 0;

        public void Add(string text)
        {
            var count = Encoding.UTF8.GetByteCount(text);
            Add(count);
            Ensure(count);
            _length += Encoding.UTF8.GetBytes(text, _bytes.AsSpan(_length));
        }

        public void Add(long value)
        {
            Ensure(8);
            BinaryPrimitives.WriteInt64LittleEndian(_bytes.AsSpan(_length), value);
            _length += 8;
        }

        private void Ensure(int more)
        {
            if (_length + more > _bytes.Length)
            {
                Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _length + more));
            }
        }
    }
}
