namespace Dataflow.Core;

/// <summary>
/// Fluent definition of a <see cref="Job"/>. Each call returns a new builder, so a partly defined job can be
/// shared and extended. <see cref="WriteTo(string)"/> validates and returns the job.
/// </summary>
public sealed class JobBuilder
{
    private readonly string _name;
    private readonly JobInput? _input;
    private readonly ReduceTree? _tree;
    private readonly Func<string, (MapReduceStep Step, IObjectOperator[] Operators)>? _mapReduce;
    private readonly Func<Exception, bool>? _permanent;

    internal JobBuilder(string name, JobInput? input = null, ReduceTree? tree = null, Func<string, (MapReduceStep, IObjectOperator[])>? mapReduce = null, Func<Exception, bool>? permanent = null)
    {
        _name = name;
        _input = input;
        _tree = tree;
        _mapReduce = mapReduce;
        _permanent = permanent;
    }

    /// <summary>Reads every object under <paramref name="prefix"/>, listed when the job runs, in key order.</summary>
    public JobBuilder FromPrefix(string prefix) => new(_name, JobInput.FromPrefix(prefix), _tree, _mapReduce, _permanent);

    /// <summary>Reads exactly these objects, in this order.</summary>
    public JobBuilder FromKeys(IEnumerable<string> keys) => new(_name, JobInput.FromKeys(keys), _tree, _mapReduce, _permanent);

    /// <summary>
    /// Maps every input record to key/value pairs, shuffles them by key into <see cref="MapReduceSpec{TKey, TValue, TResult}.Reducers"/>
    /// partitions and reduces each key; <see cref="WriteTo"/> then names the prefix of the output parts.
    /// </summary>
    public JobBuilder MapReduce<TKey, TValue, TResult>(MapReduceSpec<TKey, TValue, TResult> spec)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new JobBuilder(_name, _input, null, jobName => MapReduceFactory.Create(jobName, spec), _permanent);
    }

    /// <summary>Reduces the inputs in a tree where every task takes up to <paramref name="fanIn"/> objects.</summary>
    public JobBuilder ReduceTree(int fanIn, IObjectOperator @operator) =>
        ReduceTree(new ReduceTreeOptions { FanIn = fanIn }, @operator);

    /// <summary>Reduces the inputs in a tree with these level widths (tasks per level, e.g. 256, 128, …, 1).</summary>
    public JobBuilder ReduceTree(IReadOnlyList<int> widths, IObjectOperator @operator) =>
        ReduceTree(new ReduceTreeOptions { Widths = widths }, @operator);

    /// <summary>Reduces the inputs in a tree of the given shape.</summary>
    public JobBuilder ReduceTree(ReduceTreeOptions shape, IObjectOperator @operator)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(@operator);
        var copy = new ReduceTreeOptions { FanIn = shape.FanIn, Widths = shape.Widths?.ToArray() };
        return new JobBuilder(_name, _input, new ReduceTree(copy, @operator), null, _permanent);
    }

    /// <summary>
    /// Makes the failures that <paramref name="isPermanent"/> accepts permanent: a task that fails with one is not tried
    /// again (see <see cref="Job.IsPermanentFailure"/>), as if its operator had thrown a
    /// <see cref="PermanentTaskException"/>. It is asked about the exception and each of its inner exceptions, so a
    /// mapper's <see cref="FormatException"/> inside the <see cref="RecordProcessingException"/> that names its record
    /// is found: <c>.FailPermanentlyOn(e =&gt; e is FormatException)</c>. The job carries the rule to worker processes
    /// and pods, which define the job again; calling this again replaces the rule.
    /// </summary>
    /// <param name="isPermanent">True for a failure that another attempt cannot mend; it must not throw.</param>
    public JobBuilder FailPermanentlyOn(Func<Exception, bool> isPermanent)
    {
        ArgumentNullException.ThrowIfNull(isPermanent);
        return new JobBuilder(_name, _input, _tree, _mapReduce, isPermanent);
    }

    /// <summary>
    /// Reduces the inputs in a tree of the given shape where the levels below the last run <paramref name="intermediate"/>
    /// and the last level's one task runs <paramref name="final"/>: the operator that writes the job's output knows it
    /// does, and intermediate outputs can be in a form only the operators read.
    /// </summary>
    public JobBuilder ReduceTree(ReduceTreeOptions shape, IObjectOperator intermediate, IObjectOperator final)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(intermediate);
        ArgumentNullException.ThrowIfNull(final);
        var copy = new ReduceTreeOptions { FanIn = shape.FanIn, Widths = shape.Widths?.ToArray() };
        return new JobBuilder(_name, _input, new ReduceTree(copy, intermediate, final), null);
    }

    /// <summary>
    /// Reduces the inputs in a typed reduce tree of records of <typeparamref name="T"/> (see
    /// <see cref="RecordTreeSpec{T}"/>): the job's inputs are read as <see cref="RecordTreeSpec{T}.InputFormat"/>, the
    /// levels below the last write binary records, and the last level writes <see cref="RecordTreeSpec{T}.OutputFormat"/>.
    /// </summary>
    public JobBuilder ReduceTree<T>(ReduceTreeOptions shape, RecordTreeSpec<T> spec)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(spec);
        var (intermediate, final) = RecordTreeOperator<T>.Create(_name, spec);
        return ReduceTree(shape, intermediate, final);
    }

    /// <summary>Publishes the tree's final object under <paramref name="outputKey"/>, validates the definition and returns the job.</summary>
    /// <exception cref="JobDefinitionException">The definition is incomplete or invalid; the message names the job and the problem.</exception>
    public Job WriteTo(string outputKey)
    {
        ArgumentNullException.ThrowIfNull(outputKey);
        if (_input is null)
        {
            throw new JobDefinitionException(_name, "no input: call FromPrefix or FromKeys");
        }

        if (_input.Keys is { Count: 0 })
        {
            throw new JobDefinitionException(_name, "the input is an empty list of keys");
        }

        if (_mapReduce is not null)
        {
            var (step, operators) = _mapReduce(_name);
            var outputPrefix = outputKey.EndsWith('/') ? outputKey : outputKey + "/";
            CheckKeys(outputPrefix[..^1]);
            CheckNotAnInput(outputPrefix);

            // The parts are keys under the prefix: it must not be the reserved folder, nor hold an input they would replace.
            if (ObjectKey.IsReserved(outputPrefix))
            {
                throw new JobDefinitionException(_name, $"the output prefix '{outputPrefix}' lies under '{ObjectKey.ReservedPrefix}', which Dataflow reserves for its own records");
            }

            if (_input.Keys?.FirstOrDefault(key => key.StartsWith(outputPrefix, StringComparison.Ordinal)) is { } inside)
            {
                throw new JobDefinitionException(_name, $"input '{inside}' lies under the output prefix '{outputPrefix}', so the run would replace its own input");
            }

            if (step.MergedOutputKey is { } merged)
            {
                CheckKeys(merged);
                CheckNotAnInput(merged);
            }

            return new Job(_name, _input, null, step, outputPrefix, operators, _permanent);
        }

        if (_tree is null)
        {
            throw new JobDefinitionException(_name, "no processing step: call ReduceTree or MapReduce");
        }

        _tree.Shape.Validate(_name);
        foreach (var op in new[] { _tree.Operator, _tree.FinalOperator })
        {
            if (!Names.IsValid(op.Name))
            {
                throw new JobDefinitionException(_name, $"operator name '{op.Name}' is not valid: use {Names.Rule}");
            }
        }

        if (_tree.FinalOperator != _tree.Operator && _tree.FinalOperator.Name == _tree.Operator.Name)
        {
            throw new JobDefinitionException(_name, $"the reduce tree's intermediate and final operators are both named '{_tree.Operator.Name}': worker processes find operators by name, so give them names of their own");
        }

        CheckKeys(outputKey);
        CheckNotAnInput(outputKey);
        IObjectOperator[] treeOperators = _tree.FinalOperator == _tree.Operator ? [_tree.Operator] : [_tree.Operator, _tree.FinalOperator];
        return new Job(_name, _input, _tree, null, outputKey, treeOperators, _permanent);
    }

    private void CheckNotAnInput(string outputKey)
    {
        if (_input!.Prefix is { } prefix && outputKey.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new JobDefinitionException(_name, $"the output key '{outputKey}' lies under the input prefix '{prefix}', so a second run would read its own output");
        }

        if (_input.Keys is { } keys && keys.Contains(outputKey, StringComparer.Ordinal))
        {
            throw new JobDefinitionException(_name, $"the output key '{outputKey}' is also one of the inputs");
        }
    }

    private void CheckKeys(string outputKey)
    {
        try
        {
            ObjectKey.Validate(outputKey);
            if (_input!.Prefix is { } prefix)
            {
                ObjectKey.ValidatePrefix(prefix);
            }

            foreach (var key in _input.Keys ?? [])
            {
                ObjectKey.Validate(key);
            }
        }
        catch (InvalidObjectKeyException ex)
        {
            throw new JobDefinitionException(_name, ex.Message);
        }

        if (ObjectKey.IsReserved(outputKey))
        {
            throw new JobDefinitionException(_name, $"the output key '{outputKey}' lies under '{ObjectKey.ReservedPrefix}', which Dataflow reserves for its own records");
        }

        if (_input.Prefix is { } p && ObjectKey.IsReserved(p))
        {
            throw new JobDefinitionException(_name, $"the input prefix '{p}' lies under '{ObjectKey.ReservedPrefix}', which Dataflow reserves for its own records");
        }

        if (_input.Keys?.FirstOrDefault(ObjectKey.IsReserved) is { } reserved)
        {
            throw new JobDefinitionException(_name, $"input '{reserved}' lies under '{ObjectKey.ReservedPrefix}', which Dataflow reserves for its own records");
        }
    }
}
