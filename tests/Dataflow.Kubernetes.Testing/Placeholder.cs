namespace Dataflow.Kubernetes.Testing;

/// <summary>Marks the assembly; removed when the first real type lands.</summary>
internal static class Placeholder;
