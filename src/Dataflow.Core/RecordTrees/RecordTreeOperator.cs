namespace Dataflow.Core;

/// <summary>
/// A task of a typed reduce tree (<see cref="RecordTreeSpec{T}"/>): reads its inputs' records (job inputs in the
/// spec's input format, other tasks' outputs in its intermediate format, binary records by default), merges or
/// concatenates them, folds them, and writes the intermediate format — or, in the last level (<c>final</c>), the
/// spec's output format.
/// </summary>
internal sealed class RecordTreeOperator<T> : IObjectOperator
{
    /// <summary>What the last level's operator name adds to the tree's.</summary>
    public const string FinalSuffix = "-final";

    private readonly RecordTreeSpec<T> _spec;
    private readonly RecordCodec<T>? _codec;
    private readonly bool _final;

    private RecordTreeOperator(RecordTreeSpec<T> spec, RecordCodec<T>? codec, bool final)
    {
        _spec = spec;
        _codec = codec;
        _final = final;
        Name = final ? spec.Name + FinalSuffix : spec.Name;
    }

    public string Name { get; }

    /// <summary>The spec's version with the formats it reads and writes, which change the bytes without the user's code changing.</summary>
    public string? Version => _spec.Version is { } version ? $"{version};{_spec.InputFormat}>{_spec.IntermediateFormat}>{_spec.OutputFormat}" : null;

    /// <summary>Checks <paramref name="spec"/> and makes the tree's two operators.</summary>
    /// <exception cref="JobDefinitionException">The spec lacks what its formats need.</exception>
    public static (IObjectOperator Intermediate, IObjectOperator Final) Create(string jobName, RecordTreeSpec<T> spec)
    {
        ArgumentNullException.ThrowIfNull(spec.Name, nameof(spec.Name));
        // A codec is needed only where records are binary: a tree that is text throughout needs none.
        var binary = spec.InputFormat == RecordFileFormat.Binary || spec.IntermediateFormat == RecordFileFormat.Binary || spec.OutputFormat == RecordFileFormat.Binary;
        RecordCodec<T>? codec;
        try
        {
            codec = spec.Codec ?? (binary ? RecordCodecs.For<T>() : null);
        }
        catch (NotSupportedException)
        {
            throw new JobDefinitionException(jobName, $"the typed reduce tree '{spec.Name}' has no codec for {typeof(T).Name}: set RecordTreeSpec<{typeof(T).Name}>.Codec");
        }

        if (spec.Text is null && (spec.InputFormat == RecordFileFormat.Text || spec.IntermediateFormat == RecordFileFormat.Text || spec.OutputFormat == RecordFileFormat.Text))
        {
            var which = spec.InputFormat == RecordFileFormat.Text ? "inputs are" : spec.OutputFormat == RecordFileFormat.Text ? "output is" : "intermediate outputs are";
            throw new JobDefinitionException(jobName, $"the typed reduce tree '{spec.Name}': its {which} text, so set RecordTreeSpec<{typeof(T).Name}>.Text (or make InputFormat, IntermediateFormat and OutputFormat Binary)");
        }

        return (new RecordTreeOperator<T>(spec, codec, final: false), new RecordTreeOperator<T>(spec, codec, final: true));
    }

    public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var readers = new List<IAsyncEnumerator<T>>(context.Inputs.Count);
        try
        {
            foreach (var input in context.Inputs)
            {
                readers.Add(await OpenAsync(input, cancellationToken).ConfigureAwait(false));
            }
        }
        catch
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        IAsyncEnumerator<T> records = _spec.Order is { } order
            ? new SortedMerger<T>(readers, order) { CheckOrder = true, SourceNames = [.. context.Inputs.Select(i => i.Name)] }
            : new Concatenation(readers);
        await using (records.ConfigureAwait(false))
        {
            var output = await context.CreateOutputAsync(context.OutputNames[0], cancellationToken).ConfigureAwait(false);
            await using (output.ConfigureAwait(false))
            {
                var writer = RecordStreams.CreateWriter(output, _final ? _spec.OutputFormat : _spec.IntermediateFormat, _codec, _spec.Text);
                if (_spec.Combiner is { } combiner)
                {
                    await WriteCombinedAsync(records, combiner, writer, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    while (await records.MoveNextAsync().ConfigureAwait(false))
                    {
                        await writer.WriteAsync(records.Current, cancellationToken).ConfigureAwait(false);
                    }
                }

                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<IAsyncEnumerator<T>> OpenAsync(TaskInput input, CancellationToken cancellationToken)
    {
        var stream = await input.OpenReadAsync(cancellationToken).ConfigureAwait(false);

        // Only the job's inputs (which have a split) are in the input format; the outputs of the levels below are not.
        if (input.Split is not { } split)
        {
            return RecordStreams.OpenReader(stream, _spec.IntermediateFormat, input.Name, _codec, _spec.Text, cancellationToken);
        }

        if (InputSplit.IsCompressed(split.Key))
        {
            stream = LineSplitReader.Decompressing(stream, split.Key);
        }

        return RecordStreams.OpenReader(stream, _spec.InputFormat, input.Name, _codec, _spec.Text, cancellationToken);
    }

    private async ValueTask WriteCombinedAsync(IAsyncEnumerator<T> records, ICombiner<T> combiner, RecordStreamWriter<T> writer, CancellationToken cancellationToken)
    {
        var any = false;
        T folded = default!;
        while (await records.MoveNextAsync().ConfigureAwait(false))
        {
            var record = records.Current;
            if (!any)
            {
                (folded, any) = (record, true);
            }
            else if (_spec.Order is { } order && order.Compare(folded, record) != 0)
            {
                await writer.WriteAsync(folded, cancellationToken).ConfigureAwait(false);
                folded = record;
            }
            else
            {
                folded = combiner.Combine(folded, record);
            }
        }

        if (any)
        {
            await writer.WriteAsync(folded, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The records of every reader, one reader after the other.</summary>
    private sealed class Concatenation(List<IAsyncEnumerator<T>> readers) : IAsyncEnumerator<T>
    {
        private int _reader;

        public T Current { get; private set; } = default!;

        public async ValueTask<bool> MoveNextAsync()
        {
            for (; _reader < readers.Count; _reader++)
            {
                if (await readers[_reader].MoveNextAsync().ConfigureAwait(false))
                {
                    Current = readers[_reader].Current;
                    return true;
                }
            }

            return false;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
