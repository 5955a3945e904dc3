namespace Dataflow.Core;

/// <summary>A job input object as listed when the plan was made: its key and size in bytes.</summary>
/// <param name="Key">The object's key.</param>
/// <param name="Size">The object's size when it was listed; a task that reads a different size fails.</param>
public sealed record PlanInput(string Key, long Size);
