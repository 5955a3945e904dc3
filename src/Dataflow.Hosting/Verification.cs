namespace Dataflow.Hosting;

/// <summary>The outcome of a program's check of its own output.</summary>
/// <param name="Verified">Whether the output is right.</param>
/// <param name="Detail">What was checked, or what was wrong.</param>
public sealed record Verification(bool Verified, string Detail);
