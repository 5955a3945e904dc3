namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>What one benchmark of the <c>e2e</c> verb measured: its rows, a sentence on how, and its own detailed report.</summary>
/// <param name="Title">The benchmark's heading.</param>
/// <param name="Setup">How it was measured (Markdown, one paragraph).</param>
/// <param name="Rows">Dataflow against the baselines.</param>
/// <param name="Details">A longer report (Markdown), or empty.</param>
internal sealed record BenchmarkResult(string Title, string Setup, IReadOnlyList<Comparison> Rows, string Details);
