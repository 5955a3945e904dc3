using BenchmarkDotNet.Running;
using Dataflow.Benchmarks.S3;

// BenchmarkDotNet: dotnet run -c Release --project benchmarks/Dataflow.Benchmarks -- --filter '*' [--job short]
// End-to-end S3 figures (child process per case): dotnet run -c Release --project benchmarks/Dataflow.Benchmarks -- s3 [--repetitions N] [--size 256MiB]
return args switch
{
    ["s3", .. var rest] => await S3Runner.RunAsync(rest).ConfigureAwait(false),
    [S3Runner.CaseVerb, .. var rest] => await S3Runner.RunCaseAsync(rest).ConfigureAwait(false),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Dataflow.Benchmarks.PlannerBenchmarks).Assembly).Run(args);
    return 0;
}
