using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Dataflow.Core;

/// <summary>
/// The map task of a map-reduce step: reads its splits line by line, maps each line, combines and buffers the pairs
/// (spilling sorted runs to local disk past the memory budget), and writes one run per partition, sorted by key,
/// as slices of one output object.
/// </summary>
internal sealed class MapOperator<TKey, TValue>(MapReduceTypes<TKey, TValue> types, Mapper<TKey, TValue> mapper, long memoryBudget, string? version = null) : IObjectOperator
    where TKey : notnull
{
    public const string OperatorName = "map";

    public string Name => OperatorName;

    public string? Version => version;

    /// <summary>A map task's records are those of its own inputs: without them the rest of the step is still right for the other inputs.</summary>
    public bool ToleratesFailedTasks => true;

    public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var buffer = new MapBuffer<TKey, TValue>(types, context.OutputNames.Count, memoryBudget);
        foreach (var input in context.Inputs)
        {
            var key = input.Split?.Key ?? input.Name;
            await LineSplitReader.ReadAsync(input, (line, offset) =>
            {
                try
                {
                    mapper.Map(line, buffer);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    throw new RecordProcessingException(
                        string.Create(CultureInfo.InvariantCulture, $"map task {context.TaskId} of job '{context.JobName}': the mapper failed on the record at {LineSplitReader.Where(key, offset)}: {ex.Message}"),
                        ex);
                }
            }, cancellationToken).ConfigureAwait(false);
        }

        var output = await context.CreatePartitionedOutputAsync(context.OutputNames, cancellationToken).ConfigureAwait(false);
        await buffer.WriteAsync(output, context.OutputNames, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The codecs, order, partitioner and combiner of a map-reduce step's intermediate pairs.</summary>
internal sealed record MapReduceTypes<TKey, TValue>(
    RecordCodec<TKey> KeyCodec,
    RecordCodec<TValue> ValueCodec,
    IComparer<TKey> KeyComparer,
    IPartitioner<TKey> Partitioner,
    ICombiner<TValue>? Combiner)
    where TKey : notnull;

/// <summary>
/// Collects a map task's pairs: aggregated by key when there is a combiner, else in a list. Past the memory budget
/// the pairs are sorted by (partition, key) and spilled to a local file; at the end the spills (or the buffer) are
/// merged per partition into the output.
/// </summary>
internal sealed class MapBuffer<TKey, TValue> : MapOutput<TKey, TValue>, IDisposable
    where TKey : notnull
{
    private const int EntryOverhead = 48;

    private readonly MapReduceTypes<TKey, TValue> _types;
    private readonly int _partitions;
    private readonly long _budget;
    private readonly Dictionary<TKey, TValue>? _aggregated;
    private readonly TextKeyTable<TValue>? _byText;
    private readonly ICombiner<TValue>? _combiner;
    private readonly List<KeyValuePair<TKey, TValue>>? _pairs;
    private readonly List<SpillFile> _spills = [];
    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private string? _spillFolder;
    private long _bytes;

    public MapBuffer(MapReduceTypes<TKey, TValue> types, int partitions, long budget)
    {
        _types = types;
        _partitions = partitions;
        _budget = budget;
        _combiner = types.Combiner;
        if (types.Combiner is null)
        {
            _pairs = [];
        }
        else if (typeof(TKey) == typeof(string))
        {
            _byText = new TextKeyTable<TValue>();
        }
        else
        {
            _aggregated = [];
        }
    }

    public override void Emit(TKey key, TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_byText is not null)
        {
            EmitText(((string)(object)key).AsSpan(), value);
            return;
        }

        if (_aggregated is not null)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_aggregated, key, out var exists);
            if (exists)
            {
                slot = _combiner!.Combine(slot!, value);
                return;
            }

            slot = value;
            Grew(key, value);
            return;
        }

        _pairs!.Add(new(key, value));
        Grew(key, value);
    }

    public override void EmitText(ReadOnlySpan<char> key, TValue value)
    {
        if (_byText is { } byText)
        {
            ref var slot = ref byText.GetValueRefOrAddDefault(key, out var exists);
            if (exists)
            {
                slot = _combiner!.Combine(slot!, value);
                return;
            }

            slot = value;
            _bytes += EntryOverhead + (2 * key.Length) + _types.ValueCodec.EstimateSize(value);
            SpillIfFull();
            return;
        }

        base.EmitText(key, value);
    }

    /// <summary>Writes every partition's sorted run into <paramref name="output"/>.</summary>
    public async Task WriteAsync(PartitionedOutput output, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var writer = new SortedRunWriter<TKey, TValue>(output.Stream, _types.KeyCodec, _types.ValueCodec);
        if (_spills.Count == 0)
        {
            var sorted = SortedEntries();
            var next = 0;
            for (var p = 0; p < _partitions; p++)
            {
                output.StartPartition(names[p]);
                for (; next < sorted.Length && sorted[next].Partition == p; next++)
                {
                    await writer.WriteAsync(sorted[next].Key, sorted[next].Value, cancellationToken).ConfigureAwait(false);
                }

                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (Count > 0)
        {
            Spill();
        }

        for (var p = 0; p < _partitions; p++)
        {
            output.StartPartition(names[p]);
            var readers = new List<SortedRunReader<TKey, TValue>>();
            foreach (var spill in _spills)
            {
                var file = new FileStream(spill.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan) { Position = spill.Offsets[p] };
                readers.Add(new SortedRunReader<TKey, TValue>(new RangeReadStream(file, spill.Offsets[p + 1] - spill.Offsets[p]), _types.KeyCodec, _types.ValueCodec, spill.Path, cancellationToken: cancellationToken));
            }

            await using var merger = new SortedRunMerger<TKey, TValue>(readers, _types.KeyComparer, _types.Combiner);
            while (await merger.MoveNextAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var value in merger.Values)
                {
                    await writer.WriteAsync(merger.Key, value, cancellationToken).ConfigureAwait(false);
                }
            }

            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        if (_spillFolder is not null)
        {
            try
            {
                Directory.Delete(_spillFolder, recursive: true);
            }
            catch (IOException)
            {
                // A leftover spill folder under the temporary folder is harmless; the OS cleans it up.
            }
        }
    }

    /// <summary>Spills written so far (for tests).</summary>
    internal int Spills => _spills.Count;

    private int Count => _byText?.Count ?? _aggregated?.Count ?? _pairs!.Count;

    private void Grew(TKey key, TValue value)
    {
        _bytes += EntryOverhead + _types.KeyCodec.EstimateSize(key) + _types.ValueCodec.EstimateSize(value);
        SpillIfFull();
    }

    private void SpillIfFull()
    {
        if (_bytes > _budget)
        {
            Spill();
        }
    }

    private (int Partition, TKey Key, TValue Value)[] SortedEntries()
    {
        var entries = new (int Partition, TKey Key, TValue Value)[Count];
        var i = 0;
        var all = _byText is not null ? (IEnumerable<KeyValuePair<TKey, TValue>>)(object)_byText.Entries() : (IEnumerable<KeyValuePair<TKey, TValue>>?)_aggregated ?? _pairs!;
        foreach (var (key, value) in all)
        {
            _scratch.ResetWrittenCount();
            _types.KeyCodec.Write(key, _scratch);
            entries[i++] = (_types.Partitioner.Partition(key, _scratch.WrittenSpan, _partitions), key, value);
        }

        var comparer = _types.KeyComparer;
        Array.Sort(entries, (a, b) => a.Partition != b.Partition ? a.Partition.CompareTo(b.Partition) : comparer.Compare(a.Key, b.Key));
        return entries;
    }

    private void Spill()
    {
        _spillFolder ??= Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "dataflow-spill", Guid.NewGuid().ToString("N"))).FullName;
        var path = Path.Combine(_spillFolder, $"map-{_spills.Count:D4}.run");
        var offsets = new long[_partitions + 1];
        var sorted = SortedEntries();
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
        {
            var writer = new SortedRunWriter<TKey, TValue>(file, _types.KeyCodec, _types.ValueCodec);
            var next = 0;
            for (var p = 0; p < _partitions; p++)
            {
                offsets[p] = writer.Position;
                for (; next < sorted.Length && sorted[next].Partition == p; next++)
                {
                    writer.Write(sorted[next].Key, sorted[next].Value);
                }
            }

            offsets[_partitions] = writer.Position;
            writer.Flush();
        }

        _spills.Add(new SpillFile(path, offsets));
        _byText?.Clear();
        _aggregated?.Clear();
        _pairs?.Clear();
        _bytes = 0;
    }

    private sealed record SpillFile(string Path, long[] Offsets);
}
