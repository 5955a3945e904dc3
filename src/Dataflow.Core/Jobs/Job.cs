namespace Dataflow.Core;

/// <summary>
/// A validated job definition: what to read, which operators reduce it, and where the result goes.
/// Built fluently, starting from <see cref="Named(string)"/>:
/// <code>
/// Job job = Job.Named("merge-files")
///     .FromPrefix("input/")
///     .ReduceTree(fanIn: 2, new ConcatOperator())
///     .WriteTo("output/merged.txt");
/// </code>
/// </summary>
/// <remarks>
/// A job is plain configuration plus operator instances. Separate worker processes find an operator by its
/// <see cref="IObjectOperator.Name"/> in the job that the same program defines, so operator names are unique
/// within a job.
/// </remarks>
public sealed class Job
{
    private readonly Dictionary<string, IObjectOperator> _operators;
    private readonly Func<Exception, bool>? _permanent;

    internal Job(string name, JobInput input, ReduceTree? tree, MapReduceStep? mapReduce, string outputKey, IEnumerable<IObjectOperator> operators, Func<Exception, bool>? permanent = null)
    {
        _permanent = permanent;
        Name = name;
        Input = input;
        Tree = tree;
        MapReduce = mapReduce;
        OutputKey = outputKey;
        _operators = operators.ToDictionary(o => o.Name, StringComparer.Ordinal);
    }

    /// <summary>The job's name, which appears in plans, object keys, logs and errors.</summary>
    public string Name { get; }

    /// <summary>Where the input objects come from.</summary>
    public JobInput Input { get; }

    /// <summary>The reduce tree that turns the inputs into the output; <see langword="null"/> for a map-reduce job.</summary>
    public ReduceTree? Tree { get; }

    /// <summary>The map-reduce step; <see langword="null"/> for a reduce-tree job.</summary>
    public MapReduceStep? MapReduce { get; }

    /// <summary>
    /// Where the output goes: for a reduce tree, the key of its one object; for map-reduce, the prefix (ending in
    /// '/') of its parts <c>part-00000</c>, <c>part-00001</c>, ….
    /// </summary>
    public string OutputKey { get; }

    /// <summary>True when <see cref="OutputKey"/> is a prefix of several outputs rather than one object's key.</summary>
    public bool OutputIsPrefix => MapReduce is not null;

    /// <summary>The operators this job uses, by name.</summary>
    public IReadOnlyDictionary<string, IObjectOperator> Operators => _operators;

    /// <summary>Starts the definition of a job.</summary>
    /// <param name="name">1 to 63 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit.</param>
    /// <exception cref="JobDefinitionException">The name breaks that rule.</exception>
    public static JobBuilder Named(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Names.IsValid(name))
        {
            throw new JobDefinitionException(null, $"the name '{name}' is not valid: use {Names.Rule}");
        }

        return new JobBuilder(name);
    }

    /// <summary>Finds the operator a plan names.</summary>
    /// <exception cref="JobDefinitionException">This job has no operator of that name.</exception>
    public IObjectOperator ResolveOperator(string operatorName)
    {
        ArgumentNullException.ThrowIfNull(operatorName);
        if (_operators.TryGetValue(operatorName, out var op))
        {
            return op;
        }

        throw new JobDefinitionException(Name, $"the plan names operator '{operatorName}', which this job does not define (it defines: {string.Join(", ", _operators.Keys.Order(StringComparer.Ordinal))})");
    }

    /// <summary>
    /// True when a task that failed with <paramref name="error"/> must not be tried again: the error, or one of its inner
    /// exceptions, is a <see cref="PermanentTaskException"/>, a <see cref="JobDefinitionException"/> or a corrupt
    /// compressed input (a <c>.gz</c> or <c>.zst</c> object that does not decompress: the same bytes fail again), or is accepted
    /// by the rule given to <see cref="JobBuilder.FailPermanentlyOn"/>. Other failures are retried up to the runner's
    /// attempts.
    /// </summary>
    public bool IsPermanentFailure(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Causes(error).Any(e => e is PermanentTaskException or JobDefinitionException or CorruptInputException || (_permanent?.Invoke(e) ?? false));
    }

    /// <summary>The error and its inner exceptions, depth first (every one of an <see cref="AggregateException"/>'s).</summary>
    private static IEnumerable<Exception> Causes(Exception error)
    {
        var pending = new Stack<Exception>();
        pending.Push(error);
        for (var seen = 0; pending.Count > 0 && seen < 64; seen++)
        {
            var next = pending.Pop();
            yield return next;
            if (next is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.Reverse())
                {
                    pending.Push(inner);
                }
            }
            else if (next.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"job '{Name}'";
}
