using System.Collections.Concurrent;
using System.Diagnostics;

namespace Dataflow.Kubernetes.Tests.Manifests;

/// <summary>Reduce-tree plans with fan-in 2, made once per input count for the whole test run (the 1,000,000-input plan is the costly one).</summary>
internal static class ManifestPlans
{
    public const string PlanUri = "s3://bucket/prefix/_dataflow/runs/20261129-024455-3fa2c1/plan.json";
    public const string RunId = "20261129-024455-3fa2c1";

    private static readonly ConcurrentDictionary<(string Job, int Inputs), Lazy<(Plan Plan, TimeSpan Took)>> s_plans = new();

    /// <summary>The plan of job <paramref name="jobName"/> merging <paramref name="inputs"/> objects pairwise.</summary>
    public static Plan ReduceTree(int inputs, string jobName = "merge-files") => Timed(inputs, jobName).Plan;

    /// <summary>The plan and how long making it took (the first time).</summary>
    public static (Plan Plan, TimeSpan Took) Timed(int inputs, string jobName = "merge-files") =>
        s_plans.GetOrAdd((jobName, inputs), key => new Lazy<(Plan, TimeSpan)>(() =>
        {
            var job = Job.Named(key.Job).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("out/merged");
            var stopwatch = Stopwatch.StartNew();
            var plan = JobPlanner.CreatePlan(job, TestInputs.Shuffled(key.Inputs), RunId, new DateTimeOffset(2026, 11, 29, 2, 44, 55, TimeSpan.Zero));
            return (plan, stopwatch.Elapsed);
        })).Value;

    /// <summary>Options as a deployment on S3 would set them: a store Secret, endpoint and region, resources.</summary>
    public static PodOptions S3Options() => new()
    {
        Image = "registry.example/dataflow/merge-files:0.1.0",
        Command = ["/app/merge-files"],
        ServiceAccountName = "dataflow-runner",
        StoreSecretName = "dataflow-store",
        Environment = new Dictionary<string, string>
        {
            ["AWS_ENDPOINT_URL"] = "https://s3.eu-central-1.amazonaws.com",
            ["AWS_REGION"] = "eu-central-1",
        },
        Resources = new PodResources(CpuRequest: "500m", MemoryRequest: "512Mi", MemoryLimit: "1Gi"),
    };
}
