using BenchmarkDotNet.Running;
using Dataflow.Benchmarks.EndToEnd;
using Dataflow.Benchmarks.S3;
using Dataflow.Benchmarks.WordCount;

// BenchmarkDotNet: dotnet run -c Release --project benchmarks/Dataflow.Benchmarks -- --filter '*' [--job short]
// End-to-end S3 figures (child process per case): dotnet run -c Release --project benchmarks/Dataflow.Benchmarks -- s3 [--repetitions N] [--size 256MiB]
// Everything end to end against its baselines, medians and ratios as Markdown: ... -- e2e [--quick] [--repetitions N] [--only seed,bigmerge,wordcount,s3] (--help for more)
// Word count, Dataflow job vs single-threaded LINQ (child process per case): ... -- wordcount [--size 200MiB] [--repetitions 3] (--help for more)
return args switch
{
    // The stragglers benchmark's process executor runs this program as its worker processes.
    ["worker", ..] => await Dataflow.Hosting.DataflowCommands.TryRunAsync(args, StragglerCases.DefineJob).ConfigureAwait(false) ?? 2,
    ["e2e", .. var rest] => await E2eRunner.RunAsync(rest).ConfigureAwait(false),
    ["s3", .. var rest] => await S3Runner.RunAsync(rest).ConfigureAwait(false),
    [S3Runner.CaseVerb, .. var rest] => await S3Runner.RunCaseAsync(rest).ConfigureAwait(false),
    ["wordcount", .. var rest] => await WordCountRunner.RunAsync(rest).ConfigureAwait(false),
    [WordCountRunner.CaseVerb, .. var rest] => await WordCountRunner.RunCaseAsync(rest).ConfigureAwait(false),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Dataflow.Benchmarks.PlannerBenchmarks).Assembly).Run(args);
    return 0;
}
