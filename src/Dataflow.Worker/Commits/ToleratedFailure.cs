namespace Dataflow.Worker;

/// <summary>A task that failed for good and was tolerated (see <see cref="CommitMarker.Failed"/>).</summary>
/// <param name="Error">The task's failure, as its <see cref="TaskFailedException"/> told it.</param>
/// <param name="Inputs">
/// What is lost with it: the keys of the job inputs the task read (in plan order, each once), or the task outputs it
/// read (<c>stage/task:output</c>) when it read no job input.
/// </param>
internal sealed record ToleratedFailure(string Error, IReadOnlyList<string> Inputs);
