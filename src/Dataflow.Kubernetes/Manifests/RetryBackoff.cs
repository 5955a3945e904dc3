namespace Dataflow.Kubernetes;

/// <summary>
/// The back-off between attempts of a pod in an Argo workflow (<c>retryStrategy.backoff</c>): the first retry waits
/// <see cref="Duration"/>, each next one <see cref="Factor"/> times longer, never more than <see cref="MaxDuration"/>.
/// Kubernetes Jobs have a fixed back-off of their own (10 s doubling up to 6 min) and ignore this.
/// </summary>
/// <param name="Duration">The first wait, an Argo duration; default <c>"5s"</c>.</param>
/// <param name="Factor">The growth of each next wait; default 2.</param>
/// <param name="MaxDuration">The longest wait; default <c>"5m"</c>.</param>
public sealed record RetryBackoff(string Duration = "5s", int Factor = 2, string MaxDuration = "5m")
{
    /// <summary>The default back-off: 5 s, doubling, at most 5 min.</summary>
    public static RetryBackoff Default { get; } = new();
}
