namespace Dataflow.Core;

/// <summary>
/// An object-level operator: a task gets its input objects and writes its output objects. Implementations must be
/// safe to run for many tasks at once, and deterministic: a retried or duplicated attempt must write the same bytes.
/// </summary>
public interface IObjectOperator
{
    /// <summary>
    /// The operator's name, unique within a job. Plans name operators, and a worker process finds the operator by
    /// this name in the job its program defines.
    /// </summary>
    string Name { get; }

    /// <summary>
    /// The version of what the operator writes, for the task cache (<c>--cache on</c>): a task is taken from the cache
    /// only when its operator's name and version, its inputs and its outputs are the ones an earlier task was run with.
    /// Change it whenever a change of code or configuration changes the bytes the operator writes. The default,
    /// <see langword="null"/>, means the operator's tasks are never cached (nor any task that reads their outputs): a
    /// cache must not return what an older build of the operator wrote.
    /// </summary>
    string? Version => null;

    /// <summary>
    /// Whether a run given a failure budget (<c>--max-failed-inputs</c>) may go on without one of this operator's tasks
    /// when it fails for good: the task is recorded as failed, its outputs are read as empty by the tasks that read
    /// them, and the run ends as a partial success listing the task's inputs. The map operator of a map-reduce step
    /// declares it (a bad input object loses its own records only); an operator whose output many readers need whole —
    /// a reduce tree, a concatenation — must not. Default <see langword="false"/>: a failed task fails the run.
    /// </summary>
    bool ToleratesFailedTasks => false;

    /// <summary>Runs one attempt of one task. Throwing fails the attempt; outputs of a failed attempt are discarded.</summary>
    /// <param name="context">The task's inputs and outputs.</param>
    /// <param name="cancellationToken">Cancelled when the run is cancelled or the attempt times out.</param>
    ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken);
}
