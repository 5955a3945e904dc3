namespace Dataflow.Worker;

/// <summary>
/// What a whole run used (the summary's figures): the total of its attempts and its driver, and the driver's own share.
/// The local executor's attempts share the driver's process, so there the run's CPU and peak memory are the driver's.
/// </summary>
public sealed record RunResources
{
    /// <summary>
    /// The run's total: CPU time of the attempts that measured it and of the driver, the largest peak memory of any
    /// attempt's process or the driver's, and store requests by kind of every attempt and of the driver.
    /// </summary>
    public required ResourceUse Total { get; init; }

    /// <summary>
    /// The driver's own share: the requests it made outside attempts (plan, commit records, lease, collection,
    /// publishing), its process's CPU time over the run and its peak memory; <see langword="null"/> for a run that had
    /// no driver process (an Argo Workflow's summary, made by its finish step).
    /// </summary>
    public ResourceUse? Driver { get; init; }
}
