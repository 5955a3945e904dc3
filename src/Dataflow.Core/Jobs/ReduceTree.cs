namespace Dataflow.Core;

/// <summary>
/// A job step that reduces its inputs level by level with one object operator, until one object remains. The final
/// level may run an operator of its own (<see cref="FinalOperator"/>), so that intermediate outputs can be in a form
/// of their own (binary records, say) and only the final output in the form asked for.
/// </summary>
public sealed class ReduceTree
{
    internal ReduceTree(ReduceTreeOptions shape, IObjectOperator @operator, IObjectOperator? finalOperator = null)
    {
        Shape = shape;
        Operator = @operator;
        FinalOperator = finalOperator ?? @operator;
    }

    /// <summary>The tree's shape: a fan-in or explicit level widths.</summary>
    public ReduceTreeOptions Shape { get; }

    /// <summary>The operator every task of the levels below the last runs (and the last level's, unless it has its own).</summary>
    public IObjectOperator Operator { get; }

    /// <summary>The operator of the last level's one task, which writes the job's output; <see cref="Operator"/> unless another was given.</summary>
    public IObjectOperator FinalOperator { get; }
}
