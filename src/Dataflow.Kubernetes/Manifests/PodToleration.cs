namespace Dataflow.Kubernetes;

/// <summary>A Kubernetes toleration of the pods (see the <c>Toleration</c> type of the Kubernetes API).</summary>
/// <param name="Key">The taint key; <see langword="null"/> with operator <c>Exists</c> tolerates every taint.</param>
/// <param name="Operator"><c>Equal</c> or <c>Exists</c>; <see langword="null"/> means <c>Equal</c>.</param>
/// <param name="Value">The taint value, for operator <c>Equal</c>.</param>
/// <param name="Effect"><c>NoSchedule</c>, <c>PreferNoSchedule</c> or <c>NoExecute</c>; <see langword="null"/> matches every effect.</param>
/// <param name="TolerationSeconds">For <c>NoExecute</c>: how long the pod stays bound after the taint appears.</param>
public sealed record PodToleration(string? Key = null, string? Operator = null, string? Value = null, string? Effect = null, long? TolerationSeconds = null);
