namespace Dataflow.Core;

/// <summary>A job step that reduces its inputs level by level with one object operator, until one object remains.</summary>
public sealed class ReduceTree
{
    internal ReduceTree(ReduceTreeOptions shape, IObjectOperator @operator)
    {
        Shape = shape;
        Operator = @operator;
    }

    /// <summary>The tree's shape: a fan-in or explicit level widths.</summary>
    public ReduceTreeOptions Shape { get; }

    /// <summary>The operator every task of the tree runs.</summary>
    public IObjectOperator Operator { get; }
}
