namespace Dataflow.Kubernetes;

/// <summary>One key of a Kubernetes Secret, emitted as <c>valueFrom.secretKeyRef</c>: the value itself never appears in a manifest.</summary>
/// <param name="SecretName">The Secret's name.</param>
/// <param name="Key">The key inside the Secret.</param>
public sealed record SecretKeyReference(string SecretName, string Key);
