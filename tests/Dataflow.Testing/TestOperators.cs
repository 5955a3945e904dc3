namespace Dataflow.Testing;

/// <summary>
/// Concatenates by reading every input and writing the bytes itself (no references, no compose), so every byte it reads
/// is checked against its checksum; under a name and a version (for the task cache) of the test's choosing.
/// </summary>
public sealed class CopyConcatOperator(string name = "copy-concat", string? version = null) : IObjectOperator
{
    public string Name => name;

    public string? Version => version;

    public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
    {
        var output = await context.CreateOutputAsync(context.OutputNames[0], cancellationToken);
        await using (output)
        {
            foreach (var input in context.Inputs)
            {
                await using var stream = await input.OpenReadAsync(cancellationToken);
                await stream.CopyToAsync(output, cancellationToken);
            }
        }
    }
}

/// <summary>Runs an inner operator, but lets a test decide per attempt to fail, block or write garbage first.</summary>
public sealed class ScriptedOperator(IObjectOperator inner, Func<TaskId, int, ObjectTaskContext, CancellationToken, ValueTask> before) : IObjectOperator
{
    public string Name => inner.Name;

    public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
    {
        await before(context.TaskId, context.Attempt, context, cancellationToken);
        await inner.ExecuteAsync(context, cancellationToken);
    }
}
