namespace Dataflow.Worker;

/// <summary>What <see cref="RunCatalog.CleanAsync"/> did.</summary>
/// <param name="UploadsAborted">Incomplete multipart uploads aborted.</param>
/// <param name="ObjectsDeleted">Intermediate objects deleted.</param>
/// <param name="ObjectsLeft">Intermediate objects left (all of them with <c>keepData</c>).</param>
public sealed record RunCleanup(int UploadsAborted, int ObjectsDeleted, int ObjectsLeft)
{
    /// <summary>Temporary files that writers which died had left in the store (any run's: the store does not know runs).</summary>
    public int LeftoverFiles { get; init; }

    /// <summary>Their bytes.</summary>
    public long LeftoverBytes { get; init; }
}
