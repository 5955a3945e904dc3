namespace Dataflow.EndToEnd.Tests;

/// <summary>
/// The test classes that start many program processes at once (the process executor starts one per task) run one
/// after another, not side by side. On a 2-core CI machine, while the process-executor tests ran beside it, a
/// Ctrl+C test once saw the run it interrupted finish as if no signal had come (not reproduced alone or since);
/// the likeliest cause is the load, so the heavy classes no longer overlap.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ProgramsCollection
{
    public const string Name = "programs on a local folder";
}
