namespace Dataflow.Testing;

/// <summary>An operator with any name that must never run: job and plan tests only look at names.</summary>
public sealed class TestOperator(string name) : IObjectOperator
{
    public string Name { get; } = name;

    public ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("test operators do not run");
}
