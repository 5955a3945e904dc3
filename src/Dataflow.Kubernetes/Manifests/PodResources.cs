namespace Dataflow.Kubernetes;

/// <summary>
/// CPU and memory requests and limits of a pod's container, as Kubernetes quantities (e.g. <c>"500m"</c>,
/// <c>"2"</c>, <c>"512Mi"</c>); a <see langword="null"/> value is left out of the manifest.
/// </summary>
/// <param name="CpuRequest">The CPU request, e.g. <c>"500m"</c>.</param>
/// <param name="MemoryRequest">The memory request, e.g. <c>"512Mi"</c>.</param>
/// <param name="CpuLimit">The CPU limit.</param>
/// <param name="MemoryLimit">The memory limit.</param>
public sealed record PodResources(string? CpuRequest = null, string? MemoryRequest = null, string? CpuLimit = null, string? MemoryLimit = null);
