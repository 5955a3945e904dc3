namespace Dataflow.Core;

/// <summary>
/// Concatenates a task's inputs, in order, into its single output <c>out</c>. Concatenation is associative, so a
/// reduce tree of concat tasks yields the inputs' concatenation in key order, and intermediate levels can carry
/// references instead of bytes (see <see cref="ConcatenationOptions"/>).
/// </summary>
public sealed class ConcatOperator : IObjectOperator
{
    private readonly ConcatenationOptions _options;

    /// <summary>Creates the operator, named <c>concat</c>.</summary>
    public ConcatOperator(ConcatenationOptions? options = null)
    {
        _options = options ?? ConcatenationOptions.Default;
        _options.Validate();
    }

    /// <inheritdoc />
    public string Name => "concat";

    /// <inheritdoc />
    /// <remarks>The bytes of a concatenation do not depend on the options (they decide only whether a level copies or refers).</remarks>
    public string Version => "1";

    /// <inheritdoc />
    public ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.ConcatenateAsync(context.OutputNames[0], context.Inputs, _options, cancellationToken);
    }
}
