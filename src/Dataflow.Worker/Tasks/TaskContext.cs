using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// One attempt of one task as its operator sees it. Outputs go under the attempt's own prefix, so attempts never
/// overwrite each other; <see cref="CompleteAsync"/> finishes them, <see cref="AbortAsync"/> throws them away. On a store
/// that stages (S3), a final output that no task reads is written under its final key instead and left unpublished
/// (staged), for the driver to publish once the run has succeeded: no copy afterwards, and an attempt that does not win
/// never shows.
/// </summary>
internal sealed class TaskContext : ObjectTaskContext
{
    private readonly IObjectStore _store;
    private readonly RunLayout _layout;
    private readonly RunCounters _counters;
    private readonly IReadOnlySet<string> _finalOutputs;
    private readonly IReadOnlyDictionary<string, string> _stagedKeys;
    private readonly Dictionary<string, HashingWriteStream> _writers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CommittedOutput> _outputs = new(StringComparer.Ordinal);
    private readonly List<string> _writtenKeys = [];
    private readonly HashSet<string> _claimed = new(StringComparer.Ordinal);
    private PartitionedOutputWriter? _partitioned;
    private readonly Lock _gate = new();

    public TaskContext(
        string jobName,
        TaskId taskId,
        int attempt,
        string attemptId,
        IReadOnlyList<StoreInput> inputs,
        IReadOnlyList<string> outputNames,
        IReadOnlySet<string> finalOutputs,
        IReadOnlyDictionary<string, string>? stagedKeys,
        IObjectStore store,
        RunLayout layout,
        RunCounters counters)
    {
        JobName = jobName;
        TaskId = taskId;
        Attempt = attempt;
        AttemptId = attemptId;
        Inputs = inputs;
        OutputNames = outputNames;
        _finalOutputs = finalOutputs;
        _stagedKeys = stagedKeys ?? new Dictionary<string, string>();
        _store = store;
        _layout = layout;
        _counters = counters;
    }

    public override string JobName { get; }

    public override TaskId TaskId { get; }

    public override int Attempt { get; }

    public string AttemptId { get; }

    public override IReadOnlyList<TaskInput> Inputs { get; }

    public override IReadOnlyList<string> OutputNames { get; }

    /// <summary>This task's share of the store's concurrent reads (see <see cref="TaskRunner"/>).</summary>
    public override int MaxOpenInputs => OpenInputs;

    public int OpenInputs { get; init; } = int.MaxValue;

    /// <summary>Keys this attempt has created, to delete if it fails.</summary>
    public IReadOnlyList<string> WrittenKeys
    {
        get
        {
            lock (_gate)
            {
                // Staged outputs are not among them: their keys are final keys, and what an attempt staged there is
                // discarded with the run's unpublished uploads, never deleted by key.
                return [.. _writtenKeys, .. _writers.Where(w => !_stagedKeys.ContainsKey(w.Key)).Select(w => w.Value.Writer.Key), .. _partitioned is null ? [] : new[] { _partitioned.Writer.Key }];
            }
        }
    }

    public override async ValueTask<Stream> CreateOutputAsync(string name, CancellationToken cancellationToken = default)
    {
        Claim(name);
        var writer = _stagedKeys.TryGetValue(name, out var finalKey)
            ? await _store.OpenStagedWriteAsync(finalKey, _layout.StagedOwner(finalKey), cancellationToken).ConfigureAwait(false)
            : await _store.OpenWriteAsync(_layout.OutputKey(TaskId, AttemptId, name), cancellationToken).ConfigureAwait(false);
        var stream = new HashingWriteStream(writer, _counters);
        lock (_gate)
        {
            _writers[name] = stream;
        }

        return stream;
    }

    public override async ValueTask<PartitionedOutput> CreatePartitionedOutputAsync(IReadOnlyList<string> names, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (_partitioned is not null)
        {
            throw new InvalidOperationException($"task {TaskId} of job '{JobName}' already has a partitioned output");
        }

        foreach (var name in names)
        {
            Claim(name);
        }

        var writer = await _store.OpenWriteAsync(_layout.OutputKey(TaskId, AttemptId, "runs"), cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _partitioned = new PartitionedOutputWriter(writer, names, _counters);
        }

        return _partitioned;
    }

    public override async ValueTask ConcatenateAsync(string name, IReadOnlyList<TaskInput> inputs, ConcatenationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        var segments = new List<ObjectSegment>();
        foreach (var input in inputs)
        {
            if (input is not StoreInput own || !Inputs.Contains(own))
            {
                throw new ArgumentException($"task {TaskId} of job '{JobName}': {input} is not one of this task's inputs", nameof(inputs));
            }

            foreach (var segment in own.Segments)
            {
                Append(segments, segment);
            }
        }

        Claim(name);
        if (!_finalOutputs.Contains(name)
            && segments.Count <= options.MaxReferenceSegments
            && segments.TrueForAll(s => s.Length >= options.MinReferenceSegmentBytes))
        {
            // Concatenation is associative: an intermediate level can record where the bytes are instead of copying
            // them; a final output (or a later level with small pieces) copies them once.
            Record(new CommittedOutput { Name = name, Size = segments.Sum(s => s.Length), Segments = segments });
            return;
        }

        var staged = _stagedKeys.TryGetValue(name, out var finalKey);
        var key = staged ? finalKey! : _layout.OutputKey(TaskId, AttemptId, name);
        if (!staged)
        {
            lock (_gate)
            {
                _writtenKeys.Add(key);
            }
        }

        ObjectInfo info;
        try
        {
            if (staged)
            {
                var composed = await _store.ComposeStagedAsync(key, _layout.StagedOwner(key), segments, cancellationToken).ConfigureAwait(false);
                _counters.AddComposed(composed.Size);
                Record(Staged(name, composed, checksum: null));
                return;
            }

            info = await _store.ComposeAsync(key, segments, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex is ObjectNotFoundException or ObjectChangedException && ex.Key is { } source)
        {
            throw new InputLostException(source, $"task {TaskId} of job '{JobName}' cannot copy its inputs into output '{name}': {ex.Message}", ex);
        }

        _counters.AddComposed(info.Size);
        Record(new CommittedOutput { Name = name, Size = info.Size, Key = key, ETag = info.ETag });
    }

    /// <summary>Completes every output the operator wrote, and checks that it wrote them all.</summary>
    /// <exception cref="InvalidOperationException">An output was not written.</exception>
    public async ValueTask<IReadOnlyList<CommittedOutput>> CompleteAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, stream) in _writers)
        {
            if (stream.Writer is StagedWriteStream stager && _stagedKeys.ContainsKey(name))
            {
                Record(Staged(name, await stager.StageAsync(cancellationToken).ConfigureAwait(false), stream.Checksum));
                continue;
            }

            var info = await stream.Writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _writtenKeys.Add(info.Key);
            }

            Record(new CommittedOutput { Name = name, Size = info.Size, Key = info.Key, Checksum = stream.Checksum, ETag = info.ETag });
        }

        _writers.Clear();
        if (_partitioned is { } partitioned)
        {
            foreach (var output in await partitioned.CompleteAsync(cancellationToken).ConfigureAwait(false))
            {
                Record(output);
            }

            lock (_gate)
            {
                _writtenKeys.Add(partitioned.Writer.Key);
                _partitioned = null;
            }
        }

        var outputs = new CommittedOutput[OutputNames.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = _outputs.GetValueOrDefault(OutputNames[i])
                ?? throw new InvalidOperationException($"task {TaskId} of job '{JobName}' did not write its output '{OutputNames[i]}'");
        }

        return outputs;
    }

    /// <summary>Discards outputs still being written.</summary>
    public async ValueTask AbortAsync()
    {
        foreach (var stream in _writers.Values)
        {
            await stream.Writer.DisposeAsync().ConfigureAwait(false);
        }

        _writers.Clear();
        if (_partitioned is { } partitioned)
        {
            await partitioned.Writer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void Append(List<ObjectSegment> segments, ObjectSegment segment)
    {
        if (segment.Length == 0)
        {
            return;
        }

        // Neighbouring ranges of one object become one range, so the reference stays short.
        if (segments.Count > 0 && segments[^1] is var last
            && string.Equals(last.Key, segment.Key, StringComparison.Ordinal)
            && string.Equals(last.ETag, segment.ETag, StringComparison.Ordinal)
            && last.Offset + last.Length == segment.Offset)
        {
            segments[^1] = last with { Length = last.Length + segment.Length };
            return;
        }

        segments.Add(segment);
    }

    private void Claim(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            if (!OutputNames.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"task {TaskId} of job '{JobName}' has no output '{name}' (it has: {string.Join(", ", OutputNames)})", nameof(name));
            }

            if (!_claimed.Add(name))
            {
                throw new ArgumentException($"task {TaskId} of job '{JobName}' already wrote its output '{name}'", nameof(name));
            }
        }
    }

    /// <summary>A final output staged under its final key: its tag is the one publishing gives it.</summary>
    private static CommittedOutput Staged(string name, StagedObject staged, string? checksum) =>
        new() { Name = name, Size = staged.Size, Key = staged.Key, Checksum = checksum, ETag = staged.PublishedETag(), Staged = staged };

    private void Record(CommittedOutput output)
    {
        lock (_gate)
        {
            _outputs[output.Name] = output;
        }
    }
}
