using System.Globalization;
using BenchmarkDotNet.Attributes;

namespace Dataflow.Benchmarks;

/// <summary>
/// Planning a pairwise reduce tree (fan-in 2) over <see cref="Inputs"/> objects, the plan's JSON both ways (whole,
/// and in the stored form of <see cref="PlanChunks"/>: an index plus chunks of 1,000 tasks or inputs, as
/// <c>PlanStore.SaveAsync</c> writes them, without the store), and the Argo Workflow manifest of the plan as JSON and
/// as YAML. The baseline is planning itself: the other rows say what storing, loading and submitting a plan costs
/// relative to making it, which is the comparison that matters to a driver that does all of them once per run.
/// </summary>
/// <remarks>
/// The plan of <c>n</c> inputs has about <c>n</c> tasks (20,005 and 1,000,007 for the sizes). The plan and
/// its bytes are made once in the global setup, so the serialize, deserialize and emit rows do not include planning.
/// </remarks>
[MemoryDiagnoser]
public class PlannerBenchmarks
{
    private const string PlanUri = "s3://bucket/prefix/_dataflow/runs/bench-run/plan.json";

    private Job _job = null!;
    private PlanInput[] _inputs = null!;
    private Plan _plan = null!;
    private byte[] _json = null!;
    private byte[] _storedIndex = null!;
    private byte[][] _storedInputChunks = null!;
    private byte[][][] _storedTaskChunks = null!;
    private PodOptions _pods = null!;

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

        var index = PlanChunks.Index(_plan);
        var sizes = Sizes(_plan);
        _storedIndex = PlanSerializer.SerializePart(index);
        _storedInputChunks = [.. Enumerable.Range(0, index.InputChunks).Select(c => PlanSerializer.SerializePart(PlanChunks.InputChunk(_plan, index, c)))];
        _storedTaskChunks = [.. Enumerable.Range(0, index.Stages.Count).Select(s =>
            Enumerable.Range(0, index.StageChunks(s)).Select(c => PlanSerializer.SerializePart(PlanChunks.TaskChunk(_plan, index, sizes, s, c))).ToArray())];

        // The stored form must give back the plan, or its rows measure something else.
        if (!PlanSerializer.SerializeToUtf8Bytes(DeserializeStored()).AsSpan().SequenceEqual(_json))
        {
            throw new InvalidOperationException("the plan read back from its index and chunks differs from the plan");
        }

        var stored = _storedIndex.Length + _storedInputChunks.Sum(c => (long)c.Length) + _storedTaskChunks.Sum(s => s.Sum(c => (long)c.Length));
        Console.WriteLine($"// {Inputs:N0} inputs: {TaskCount(_plan):N0} tasks in {_plan.Stages.Count} stages; whole plan {_json.Length:N0} bytes of JSON, stored form {stored:N0} bytes in {1 + _storedInputChunks.Length + _storedTaskChunks.Sum(s => s.Length):N0} objects; Argo manifest {ArgoJson().Length:N0} chars of JSON, {ArgoYaml().Length:N0} of YAML");
    }

    [Benchmark(Baseline = true, Description = "plan (tree + validation)")]
    public Plan Plan() => JobPlanner.CreatePlan(_job, _inputs, "bench-run", DateTimeOffset.UnixEpoch);

    [Benchmark(Description = "serialize whole plan to JSON")]
    public byte[] Serialize() => PlanSerializer.SerializeToUtf8Bytes(_plan);

    /// <summary>What <c>PlanStore.SaveAsync</c> serializes: the input sizes, every input and task chunk, the index.</summary>
    [Benchmark(Description = "serialize stored form (index + 1,000-task chunks)")]
    public long SerializeStored()
    {
        var index = PlanChunks.Index(_plan);
        var sizes = Sizes(_plan);
        long bytes = 0;
        for (var c = 0; c < index.InputChunks; c++)
        {
            bytes += PlanSerializer.SerializePart(PlanChunks.InputChunk(_plan, index, c)).Length;
        }

        for (var s = 0; s < index.Stages.Count; s++)
        {
            for (var c = 0; c < index.StageChunks(s); c++)
            {
                bytes += PlanSerializer.SerializePart(PlanChunks.TaskChunk(_plan, index, sizes, s, c)).Length;
            }
        }

        return bytes + PlanSerializer.SerializePart(index).Length;
    }

    [Benchmark(Description = "deserialize whole plan from JSON")]
    public Plan Deserialize() => PlanSerializer.Deserialize(_json);

    /// <summary>What <c>PlanStore.LoadAsync</c> does with the bytes: every part read, then the plan joined together.</summary>
    [Benchmark(Description = "deserialize stored form + PlanChunks.Join")]
    public Plan DeserializeStored()
    {
        var index = PlanSerializer.DeserializePart<PlanIndex>(_storedIndex);
        var inputs = _storedInputChunks.Select(c => PlanSerializer.DeserializePart<PlanInputChunk>(c)).ToArray();
        var stages = _storedTaskChunks.Select(s => (IReadOnlyList<PlanChunk>)[.. s.Select(c => PlanSerializer.DeserializePart<PlanChunk>(c))]).ToArray();
        return PlanChunks.Join(index, stages, inputs);
    }

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

    private static int TaskCount(Plan plan) => plan.Stages.Sum(s => s.Tasks.Count);
}
