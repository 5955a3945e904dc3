namespace Dataflow.Kubernetes;

/// <summary>Settings of one stage that differ from the <see cref="PodOptions"/> of every stage; a <see langword="null"/> property keeps the common value.</summary>
/// <param name="Parallelism">The most pods of the stage running at once.</param>
/// <param name="Resources">The stage's container resources.</param>
/// <param name="RetryLimit">The retries of each pod of the stage.</param>
public sealed record StageOverride(int? Parallelism = null, PodResources? Resources = null, int? RetryLimit = null);
