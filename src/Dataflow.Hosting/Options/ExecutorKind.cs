namespace Dataflow.Hosting;

/// <summary>Where a run's tasks run (<c>--executor</c>).</summary>
internal enum ExecutorKind
{
    /// <summary>In the driver's process, on a pool of workers: the embedded default.</summary>
    Local,

    /// <summary>Each task in a worker process of the same program, started with the plan's address and the task's identity.</summary>
    Process,

    /// <summary>On Kubernetes: one Indexed Job per stage, created and watched by this driver.</summary>
    Kubernetes,

    /// <summary>On Kubernetes through Argo Workflows: one Workflow for the run, submitted and followed by this driver.</summary>
    Argo,
}
