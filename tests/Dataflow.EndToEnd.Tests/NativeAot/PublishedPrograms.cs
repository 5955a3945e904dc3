namespace Dataflow.EndToEnd.Tests.NativeAot;

/// <summary>
/// The tests that publish merge-files for a runtime identifier (the Dockerfile's ReadyToRun driver and Native AOT
/// worker): one at a time, because both builds use the example's one intermediate folder for that identifier.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PublishedPrograms
{
    public const string Name = "published programs";
}
