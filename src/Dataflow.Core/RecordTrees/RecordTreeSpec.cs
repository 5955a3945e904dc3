namespace Dataflow.Core;

/// <summary>
/// A typed reduce tree over records of <typeparamref name="T"/> (<see cref="JobBuilder.ReduceTree{T}(ReduceTreeOptions, RecordTreeSpec{T})"/>):
/// every task reads the records of its inputs, merges them in <see cref="Order"/> (or concatenates them in input
/// order), folds them with <see cref="Combiner"/> if there is one, and writes the result. The job's inputs are read as
/// <see cref="InputFormat"/>; the levels below the last write the binary record format (<see cref="Codec"/>; see
/// <see cref="IntermediateFormat"/>), which only the next level reads; the last level writes <see cref="OutputFormat"/>. Records are parsed and formatted as
/// text once each, not at every level.
/// </summary>
/// <remarks>
/// <para>
/// The tree runs two operators: <c>Name</c> on the levels below the last and <c>Name-final</c> on the last, so a
/// plan, a log or a run report tells an intermediate output from the final one.
/// </para>
/// <para>
/// The result is the same for every tree shape when the combiner is associative: with an order, a sorted merge of
/// sorted inputs is a sorted merge of merges; without one, inputs keep their order, so the combiner need not be
/// commutative.
/// </para>
/// </remarks>
/// <typeparam name="T">The record type.</typeparam>
public sealed class RecordTreeSpec<T>
{
    /// <summary>The name of the tree's operators: <c>Name</c> below the last level, <c>Name-final</c> on it. Default <c>records</c>.</summary>
    public string Name { get; init; } = "records";

    /// <summary>
    /// The version of the tree's operators for the task cache (see <see cref="IObjectOperator.Version"/>): change it
    /// when the codec, order, combiner or formats change what a level writes. Default <see langword="null"/>: never cached.
    /// </summary>
    public string? Version { get; init; }

    /// <summary>The codec of the binary record format; default: the built-in codec of <typeparamref name="T"/> (<see cref="RecordCodecs.For{T}"/>).</summary>
    public RecordCodec<T>? Codec { get; init; }

    /// <summary>
    /// The order of the records: when set, every input must be sorted by it (an input that is not fails its task,
    /// naming it) and every task writes a k-way merge of its inputs (<see cref="SortedMerger{T}"/>; equal records in
    /// input order); when <see langword="null"/> (the default), a task writes its inputs' records in input order.
    /// </summary>
    public IComparer<T>? Order { get; init; }

    /// <summary>
    /// Folds records into one, associatively: with an <see cref="Order"/>, runs of records that sort equal (the
    /// combined record must sort equal to them); without one, all of a task's records. Default: none, every record kept.
    /// </summary>
    public ICombiner<T>? Combiner { get; init; }

    /// <summary>How a record reads from and writes to a line, for <see cref="RecordFileFormat.Text"/> inputs or output.</summary>
    public TextRecordFormat<T>? Text { get; init; }

    /// <summary>The format of the job's input objects. Default <see cref="RecordFileFormat.Text"/>.</summary>
    public RecordFileFormat InputFormat { get; init; } = RecordFileFormat.Text;

    /// <summary>
    /// The format of the outputs of the levels below the last, which only the next level reads. Default
    /// <see cref="RecordFileFormat.Binary"/>; <see cref="RecordFileFormat.Text"/> makes them readable while debugging,
    /// at the cost of parsing and formatting every record at every level.
    /// </summary>
    public RecordFileFormat IntermediateFormat { get; init; } = RecordFileFormat.Binary;

    /// <summary>The format of the job's output, written by the last level. Default <see cref="RecordFileFormat.Text"/>.</summary>
    public RecordFileFormat OutputFormat { get; init; } = RecordFileFormat.Text;
}
