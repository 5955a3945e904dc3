using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>The outcome of a successful run: its summary and its plan.</summary>
/// <param name="Summary">What the run did.</param>
/// <param name="Plan">The plan it ran.</param>
public sealed record RunResult(RunSummary Summary, Plan Plan);
