using System.Globalization;
using BenchmarkDotNet.Attributes;
using Dataflow.Jobs;
using Dataflow.Operators;
using Dataflow.Planning;
using Dataflow.Plans;

namespace Dataflow.Benchmarks;

/// <summary>
/// Planning a reduce tree over many inputs, and the plan's JSON both ways. The baseline is planning itself; the
/// other rows say what storing and loading the plan costs relative to making it.
/// </summary>
[MemoryDiagnoser]
public class PlannerBenchmarks
{
    private Job _job = null!;
    private PlanInput[] _inputs = null!;
    private Plan _plan = null!;
    private byte[] _json = null!;

    /// <summary>Input objects: the 20,000 of the issue, and the seed's 512.</summary>
    [Params(512, 20_000)]
    public int Inputs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _job = Job.Named("bench").FromPrefix("input/").ReduceTree(2, new ConcatOperator()).WriteTo("output/merged.txt");
        _inputs = Enumerable.Range(0, Inputs)
            .Select(i => new PlanInput("input/" + i.ToString("D6", CultureInfo.InvariantCulture) + ".txt", 1))
            .ToArray();
        _plan = Plan();
        _json = PlanSerializer.SerializeToUtf8Bytes(_plan);
    }

    [Benchmark(Baseline = true, Description = "plan (tree + validation)")]
    public Plan Plan() => Planner.CreatePlan(_job, _inputs, "bench-run", DateTimeOffset.UnixEpoch);

    [Benchmark(Description = "serialize plan to JSON")]
    public byte[] Serialize() => PlanSerializer.SerializeToUtf8Bytes(_plan);

    [Benchmark(Description = "deserialize plan from JSON")]
    public Plan Deserialize() => PlanSerializer.Deserialize(_json);
}
