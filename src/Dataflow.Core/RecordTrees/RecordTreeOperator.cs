using System.Globalization;

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
        var sources = context.Inputs.Select(input => (input.Name, Open: (Func<ValueTask<IAsyncEnumerator<T>>>)(() => OpenAsync(input, cancellationToken)))).ToList();
        string? spillFolder = null;
        try
        {
            IAsyncEnumerator<T> records;
            if (_spec.Order is { } order)
            {
                // More inputs than the task may hold open at once (a store whose reads share a pool of connections):
                // merge them in groups into sorted files on local disk first, then merge those.
                var fanIn = Math.Max(2, context.MaxOpenInputs);
                for (var pass = 0; sources.Count > fanIn; pass++)
                {
                    spillFolder ??= Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "dataflow-spill", Guid.NewGuid().ToString("N"))).FullName;
                    var merged = new List<(string Name, Func<ValueTask<IAsyncEnumerator<T>>> Open)>();
                    for (var i = 0; i < sources.Count; i += fanIn)
                    {
                        var group = sources.GetRange(i, Math.Min(fanIn, sources.Count - i));
                        var path = Path.Combine(spillFolder, string.Create(CultureInfo.InvariantCulture, $"merge-{pass:D2}-{merged.Count:D5}.records"));
                        await SpillAsync(group, order, path, cancellationToken).ConfigureAwait(false);
                        var name = $"{group[0].Name} … {group[^1].Name} (merged on local disk)";
                        merged.Add((name, () => ValueTask.FromResult(ReadSpill(path, name, cancellationToken))));
                    }

                    sources = merged;
                }

                records = new SortedMerger<T>(await OpenAllAsync(sources).ConfigureAwait(false), order) { CheckOrder = true, SourceNames = [.. sources.Select(s => s.Name)] };
            }
            else
            {
                // In input order: one input open at a time.
                records = new Concatenation([.. sources.Select(s => s.Open)]);
            }

            await using (records.ConfigureAwait(false))
            {
                var output = await context.CreateOutputAsync(context.OutputNames[0], cancellationToken).ConfigureAwait(false);
                await using (output.ConfigureAwait(false))
                {
                    var writer = RecordStreams.CreateWriter(output, _final ? _spec.OutputFormat : _spec.IntermediateFormat, _codec, _spec.Text);
                    await WriteAsync(records, writer, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (spillFolder is not null)
            {
                Directory.Delete(spillFolder, recursive: true);
            }
        }
    }

    /// <summary>The records, combined if the spec has a combiner, written and flushed.</summary>
    private async ValueTask WriteAsync(IAsyncEnumerator<T> records, RecordStreamWriter<T> writer, CancellationToken cancellationToken)
    {
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

    /// <summary>Opens every source; on a failure, closes what was opened.</summary>
    private static async ValueTask<List<IAsyncEnumerator<T>>> OpenAllAsync(List<(string Name, Func<ValueTask<IAsyncEnumerator<T>>> Open)> sources)
    {
        var readers = new List<IAsyncEnumerator<T>>(sources.Count);
        try
        {
            foreach (var source in sources)
            {
                readers.Add(await source.Open().ConfigureAwait(false));
            }

            return readers;
        }
        catch
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Merges <paramref name="group"/> in order into a file of records (binary with a codec, else text), uncombined.</summary>
    private async ValueTask SpillAsync(List<(string Name, Func<ValueTask<IAsyncEnumerator<T>>> Open)> group, IComparer<T> order, string path, CancellationToken cancellationToken)
    {
        var merger = new SortedMerger<T>(await OpenAllAsync(group).ConfigureAwait(false), order) { CheckOrder = true, SourceNames = [.. group.Select(s => s.Name)] };
        await using (merger.ConfigureAwait(false))
        {
            var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                var writer = RecordStreams.CreateWriter(file, SpillFormat, _codec, _spec.Text);
                while (await merger.MoveNextAsync().ConfigureAwait(false))
                {
                    await writer.WriteAsync(merger.Current, cancellationToken).ConfigureAwait(false);
                }

                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private IAsyncEnumerator<T> ReadSpill(string path, string name, CancellationToken cancellationToken) =>
        RecordStreams.OpenReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous), SpillFormat, name, _codec, _spec.Text, cancellationToken);

    /// <summary>The format of records merged on local disk: binary when there is a codec, else text.</summary>
    private RecordFileFormat SpillFormat => _codec is null ? RecordFileFormat.Text : RecordFileFormat.Binary;

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

    /// <summary>The records of every source, one source after the other, each opened when reached and closed when done.</summary>
    private sealed class Concatenation(List<Func<ValueTask<IAsyncEnumerator<T>>>> sources) : IAsyncEnumerator<T>
    {
        private int _source;
        private IAsyncEnumerator<T>? _reader;

        public T Current { get; private set; } = default!;

        public async ValueTask<bool> MoveNextAsync()
        {
            for (; _source < sources.Count; _source++)
            {
                _reader ??= await sources[_source]().ConfigureAwait(false);
                if (await _reader.MoveNextAsync().ConfigureAwait(false))
                {
                    Current = _reader.Current;
                    return true;
                }

                await _reader.DisposeAsync().ConfigureAwait(false);
                _reader = null;
            }

            return false;
        }

        public async ValueTask DisposeAsync()
        {
            if (_reader is not null)
            {
                await _reader.DisposeAsync().ConfigureAwait(false);
                _reader = null;
            }
        }
    }
}
