using BenchmarkDotNet.Running;

// Run with: dotnet run -c Release --project benchmarks/Dataflow.Benchmarks -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Dataflow.Benchmarks.PlannerBenchmarks).Assembly).Run(args);
