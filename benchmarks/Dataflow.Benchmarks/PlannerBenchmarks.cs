using System.Globalization;
using BenchmarkDotNet.Attributes;

namespace Dataflow.Benchmarks;

/// <summary>
/// Planning a pairwise reduce tree (fan-in 2) over <see cref="Inputs"/> objects, the plan's JSON both ways (whole,
/// and in the stored forms of <see cref="PlanChunks"/>: an index plus chunks of 1,000 tasks or inputs, compact
/// (<see cref="PlanChunkCodec"/>, schema version 3) and an object per task (schema version 2, what Dataflow stored
/// before), as <c>PlanStore.SaveAsync</c> writes them, without the store), storing and reading the plan through a
/// folder store in both forms, and the Argo Workflow manifest of the plan as JSON and as YAML. The baseline is
/// planning itself: the other rows say what storing, loading and submitting a plan costs relative to making it,
/// which is the comparison that matters to a driver that does all of them once per run.
/// </summary>
/// <remarks>
/// The plan of <c>n</c> inputs has about <c>n</c> tasks (20,005 and 1,000,007 for the sizes). The plan and
/// its bytes are made once in the global setup, so the serialize, deserialize, read and emit rows do not include
/// planning; "plan + store" does, as a driver pays both. The folder store is in the temporary folder (no fsync).
/// </remarks>
[MemoryDiagnoser]
public class PlannerBenchmarks
{
    private const string PlanUri = "s3://bucket/prefix/_dataflow/runs/bench-run/plan.json";

    // What schema version 2 stored: chunks of 1,000 tasks or inputs.
    private const int Version2ChunkSize = 1000;

    private Job _job = null!;
    private PlanInput[] _inputs = null!;
    private Plan _plan = null!;
    private byte[] _json = null!;
    private byte[] _storedIndex = null!;
    private byte[][] _storedInputChunks = null!;
    private byte[][][] _storedTaskChunks = null!;
    private byte[] _compactIndex = null!;
    private byte[][] _compactInputChunks = null!;
    private byte[][][] _compactTaskChunks = null!;
    private PodOptions _pods = null!;
    private string _folder = null!;
    private IObjectStore _store = null!;

    /// <summary>Input objects: the seed's 512, and the 20,000 and 1,000,000 of the issue.</summary>
    [Params(512, 20_000, 1_000_000)]
    public int Inputs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _job = Job.Named("bench").FromPrefix("input/").ReduceTree(2, new ConcatOperator()).WriteTo("output/merged.txt");
        _inputs = Enumerable.Range(0, Inputs)
            .Select(i => new PlanInput("input/" + i.ToString("D7", CultureInfo.InvariantCulture) + ".txt", 1))
            .ToArray();
        _plan = Plan();
        _json = PlanSerializer.SerializeToUtf8Bytes(_plan);
        _pods = new PodOptions
        {
            Image = "registry.example/dataflow/merge-files:0.1.0",
            Command = ["/app/merge-files"],
            ServiceAccountName = "dataflow-runner",
            StoreSecretName = "dataflow-store",
            Environment = new Dictionary<string, string> { ["AWS_REGION"] = "eu-central-1" },
            Resources = new PodResources(CpuRequest: "500m", MemoryRequest: "512Mi", MemoryLimit: "1Gi"),
        };

        var index = PlanChunks.Index(_plan, Version2ChunkSize) with { SchemaVersion = 2 };
        var sizes = Sizes(_plan);
        _storedIndex = PlanSerializer.SerializePart(index);
        _storedInputChunks = [.. Enumerable.Range(0, index.InputChunks).Select(c => PlanSerializer.SerializePart(PlanChunks.InputChunk(_plan, index, c)))];
        _storedTaskChunks = [.. Enumerable.Range(0, index.Stages.Count).Select(s =>
            Enumerable.Range(0, index.StageChunks(s)).Select(c => PlanSerializer.SerializePart(PlanChunks.TaskChunk(_plan, index, sizes, s, c))).ToArray())];

        var compactIndex = PlanChunks.Index(_plan);
        var positions = Positions(_plan);
        _compactIndex = PlanSerializer.SerializePart(compactIndex);
        _compactInputChunks = [.. Enumerable.Range(0, compactIndex.InputChunks).Select(c => PlanChunkCodec.WriteInputChunk(_plan, compactIndex, c))];
        _compactTaskChunks = [.. Enumerable.Range(0, compactIndex.Stages.Count).Select(s =>
            Enumerable.Range(0, compactIndex.StageChunks(s)).Select(c => PlanChunkCodec.WriteTaskChunk(_plan, compactIndex, positions, s, c)).ToArray())];
        _folder = Path.Combine(Path.GetTempPath(), "dataflow-planner-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        _store = ObjectStore.OpenFolder(_folder);
        PlanAndStore().GetAwaiter().GetResult();
        StoreVersion2().GetAwaiter().GetResult();

        // Every stored form must give back the plan, or its rows measure something else.
        foreach (var (form, plan) in new[]
        {
            ("the index and chunks of an object per task", DeserializeStored()),
            ("the compact index and chunks", DeserializeCompact()),
            ("the folder store (compact)", ReadStored().GetAwaiter().GetResult()),
            ("the folder store (schema version 2)", ReadStoredVersion2().GetAwaiter().GetResult()),
        })
        {
            if (!PlanSerializer.SerializeToUtf8Bytes(plan with { RunId = _plan.RunId }).AsSpan().SequenceEqual(_json))
            {
                throw new InvalidOperationException($"the plan read back from {form} differs from the plan");
            }
        }

        var stored = _storedIndex.Length + _storedInputChunks.Sum(c => (long)c.Length) + _storedTaskChunks.Sum(s => s.Sum(c => (long)c.Length));
        var compact = _compactIndex.Length + _compactInputChunks.Sum(c => (long)c.Length) + _compactTaskChunks.Sum(s => s.Sum(c => (long)c.Length));
        Console.WriteLine($"// {Inputs:N0} inputs: {TaskCount(_plan):N0} tasks in {_plan.Stages.Count} stages; whole plan {_json.Length:N0} bytes of JSON, stored form {stored:N0} bytes in {1 + _storedInputChunks.Length + _storedTaskChunks.Sum(s => s.Length):N0} objects (compact: {compact:N0} bytes in {1 + _compactInputChunks.Length + _compactTaskChunks.Sum(s => s.Length):N0}); Argo manifest {ArgoJson().Length:N0} chars of JSON, {ArgoYaml().Length:N0} of YAML");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        (_store as IDisposable)?.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Benchmark(Baseline = true, Description = "plan (tree + validation)")]
    public Plan Plan() => JobPlanner.CreatePlan(_job, _inputs, "bench-run", DateTimeOffset.UnixEpoch);

    [Benchmark(Description = "serialize whole plan to JSON")]
    public byte[] Serialize() => PlanSerializer.SerializeToUtf8Bytes(_plan);

    /// <summary>What <c>PlanStore.SaveAsync</c> serializes: the input sizes, every input and task chunk, the index.</summary>
    [Benchmark(Description = "serialize stored form, object per task (schema 2)")]
    public long SerializeStored()
    {
        var sizes = Sizes(_plan);
        return SerializedBytes(
            PlanChunks.Index(_plan, Version2ChunkSize),
            (index, c) => PlanSerializer.SerializePart(PlanChunks.InputChunk(_plan, index, c)).Length,
            (index, s, c) => PlanSerializer.SerializePart(PlanChunks.TaskChunk(_plan, index, sizes, s, c)).Length);
    }

    [Benchmark(Description = "deserialize whole plan from JSON")]
    public Plan Deserialize() => PlanSerializer.Deserialize(_json);

    /// <summary>What <c>PlanStore.LoadAsync</c> does with the bytes: every part read, then the plan joined together.</summary>
    [Benchmark(Description = "deserialize stored form, object per task (schema 2) + Join")]
    public Plan DeserializeStored()
    {
        var index = PlanSerializer.DeserializePart<PlanIndex>(_storedIndex);
        var inputs = _storedInputChunks.Select(c => PlanSerializer.DeserializePart<PlanInputChunk>(c)).ToArray();
        var stages = _storedTaskChunks.Select(s => (IReadOnlyList<PlanChunk>)[.. s.Select(c => PlanSerializer.DeserializePart<PlanChunk>(c))]).ToArray();
        return PlanChunks.Join(index, stages, inputs);
    }

    /// <summary>What <c>PlanStore.SaveAsync</c> serializes now: the compact chunks of <see cref="PlanChunkCodec"/>, and the index.</summary>
    [Benchmark(Description = "serialize stored form, compact (schema 3)")]
    public long SerializeCompact()
    {
        var positions = Positions(_plan);
        return SerializedBytes(
            PlanChunks.Index(_plan),
            (index, c) => Pooled(buffer => PlanChunkCodec.WriteInputChunk(buffer, _plan, index, c)),
            (index, s, c) => Pooled(buffer => PlanChunkCodec.WriteTaskChunk(buffer, _plan, index, positions, s, c)));
    }

    /// <summary>What <c>PlanStore.LoadAsync</c> does with compact bytes, on one thread: inputs, then tasks keyed by them.</summary>
    [Benchmark(Description = "deserialize stored form, compact (schema 3) + Join")]
    public Plan DeserializeCompact()
    {
        var index = PlanSerializer.DeserializePart<PlanIndex>(_compactIndex);
        var inputs = PlanChunks.JoinInputs(index, [.. _compactInputChunks.Select(c => PlanChunkCodec.ReadInputChunk(c))]);
        var stages = _compactTaskChunks.Select(s => (IReadOnlyList<PlanChunk>)[.. s.Select(c => PlanChunkCodec.ReadTaskChunk(c, inputs))]).ToArray();
        return PlanChunks.Join(index, stages, inputs);
    }

    /// <summary>The driver's part of starting a run: plan, then <c>PlanStore.SaveAsync</c> into the folder store.</summary>
    [Benchmark(Description = "plan + store, compact (folder store)")]
    public async Task<Plan> PlanAndStore()
    {
        var plan = Plan();
        await PlanStore.SaveAsync(_store, plan).ConfigureAwait(false);
        return plan;
    }

    /// <summary>The same, storing chunks of an object per task as <c>PlanStore.SaveAsync</c> did before (16 at a time).</summary>
    [Benchmark(Description = "plan + store, object per task (schema 2, folder store)")]
    public async Task<Plan> PlanAndStoreVersion2()
    {
        var plan = Plan();
        await StoreVersion2(plan).ConfigureAwait(false);
        return plan;
    }

    /// <summary>A resumed driver's read of the whole plan: <c>PlanStore.LoadAsync</c> from the folder store.</summary>
    [Benchmark(Description = "read whole stored plan, compact (folder store)")]
    public async Task<Plan> ReadStored() => (await PlanStore.LoadAsync(_store, "bench-run").ConfigureAwait(false))!;

    /// <summary>The same for a run stored by the earlier Dataflow (schema version 2), which a newer build still reads.</summary>
    [Benchmark(Description = "read whole stored plan, object per task (schema 2, folder store)")]
    public async Task<Plan> ReadStoredVersion2() => (await PlanStore.LoadAsync(_store, "bench-run-v2").ConfigureAwait(false))!;

    [Benchmark(Description = "Argo Workflow manifest as JSON")]
    public string ArgoJson() => ArgoWorkflowEmitter.Emit(_plan, PlanUri, _pods).ToJsonString();

    [Benchmark(Description = "Argo Workflow manifest as YAML")]
    public string ArgoYaml() => ManifestYaml.ToYaml(ArgoWorkflowEmitter.Emit(_plan, PlanUri, _pods));

    private static Dictionary<string, PlanInput> Sizes(Plan plan)
    {
        var inputs = new Dictionary<string, PlanInput>(plan.Inputs.Count, StringComparer.Ordinal);
        foreach (var input in plan.Inputs)
        {
            inputs.TryAdd(input.Key, input);
        }

        return inputs;
    }

    // The bytes of every input chunk, every task chunk and the index of the plan's stored form.
    private static long SerializedBytes(PlanIndex index, Func<PlanIndex, int, int> inputChunk, Func<PlanIndex, int, int, int> taskChunk)
    {
        long bytes = 0;
        for (var c = 0; c < index.InputChunks; c++)
        {
            bytes += inputChunk(index, c);
        }

        for (var s = 0; s < index.Stages.Count; s++)
        {
            for (var c = 0; c < index.StageChunks(s); c++)
            {
                bytes += taskChunk(index, s, c);
            }
        }

        return bytes + PlanSerializer.SerializePart(index).Length;
    }

    // The length of what write writes into a pooled buffer, as PlanStore.SaveAsync writes each chunk.
    private static int Pooled(Action<PooledBufferWriter> write)
    {
        using var buffer = new PooledBufferWriter(128 * 1024);
        write(buffer);
        return buffer.WrittenMemory.Length;
    }

    private Task StoreVersion2() => StoreVersion2(_plan);

    // PlanStore.SaveAsync as it was before the compact chunks, under the run id bench-run-v2.
    private async Task StoreVersion2(Plan plan)
    {
        plan = plan with { RunId = "bench-run-v2" };
        var layout = new RunLayout(plan.RunId);
        var index = PlanChunks.Index(plan, Version2ChunkSize) with { SchemaVersion = 2 };
        var sizes = Sizes(plan);
        var parts = Enumerable.Range(0, index.InputChunks)
            .Select(c => (Key: layout.PlanInputChunkKey(c), Bytes: (Func<byte[]>)(() => PlanSerializer.SerializePart(PlanChunks.InputChunk(plan, index, c)))))
            .Concat(Enumerable.Range(0, index.Stages.Count).SelectMany(s => Enumerable.Range(0, index.StageChunks(s))
                .Select(c => (Key: layout.PlanChunkKey(s, c), Bytes: (Func<byte[]>)(() => PlanSerializer.SerializePart(PlanChunks.TaskChunk(plan, index, sizes, s, c)))))));
        await Parallel.ForEachAsync(parts, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (part, token) =>
            await _store.PutAsync(part.Key, part.Bytes(), token).ConfigureAwait(false)).ConfigureAwait(false);
        await _store.PutAsync(layout.PlanKey, PlanSerializer.SerializePart(index)).ConfigureAwait(false);
    }

    private static Dictionary<string, int> Positions(Plan plan)
    {
        var positions = new Dictionary<string, int>(plan.Inputs.Count, StringComparer.Ordinal);
        for (var i = 0; i < plan.Inputs.Count; i++)
        {
            positions.TryAdd(plan.Inputs[i].Key, i);
        }

        return positions;
    }

    private static int TaskCount(Plan plan) => plan.Stages.Sum(s => s.Tasks.Count);
}
