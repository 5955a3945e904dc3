namespace Dataflow.Core;

/// <summary>A job input object as listed when the plan was made: its key, size in bytes and entity tag.</summary>
/// <param name="Key">The object's key.</param>
/// <param name="Size">The object's size when it was listed; a task that reads a different size fails.</param>
public sealed record PlanInput(string Key, long Size)
{
    /// <summary>
    /// The object's entity tag when it was listed (the store's version of its bytes), or <see langword="null"/> when
    /// the store gave none: a task reads this version only, so an input that changes during the run fails the tasks
    /// that read it instead of mixing old and new bytes.
    /// </summary>
    public string? ETag { get; init; }
}
