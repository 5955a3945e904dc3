namespace Dataflow.Core;

/// <summary>
/// How a run uses the task cache: a store-wide map from task keys (a hash of a task's operator and version, its
/// outputs and its inputs — job input objects by key, size and fingerprint, task outputs by their producer's key) to
/// the outputs a task with that key committed.
/// </summary>
public enum CacheMode
{
    /// <summary>No cache: every task runs, and intermediate data is collected as soon as it is consumed.</summary>
    Off,

    /// <summary>
    /// Tasks found in the cache are not run, their cached outputs are used; the outputs of the tasks that run are kept
    /// and added to the cache instead of being collected.
    /// </summary>
    On,

    /// <summary>Tasks found in the cache are not run; nothing is added to it, and intermediate data is collected as with <see cref="Off"/>.</summary>
    ReadOnly,
}
