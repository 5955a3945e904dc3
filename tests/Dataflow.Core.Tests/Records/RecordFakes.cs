using System.Text;

namespace Dataflow.Core.Tests.Records;

/// <summary>A job input (or a byte range of one) held in memory; checks every range it is asked for, as the store does.</summary>
internal sealed class BytesInput : TaskInput
{
    private readonly byte[] _data;

    public BytesInput(string key, byte[] data)
        : this(key, data, 0, data.Length)
    {
    }

    public BytesInput(string key, byte[] data, long offset, long length)
    {
        _data = data;
        Split = new InputSplit(key, offset, length, data.Length);
    }

    /// <summary>When set, streams hand out their bytes in pieces of random size up to this, as network streams do.</summary>
    public int? Chunky { get; init; }

    public override string Name => $"'{Split.Key}' bytes {Split.Offset} to {Split.End}";

    public override long Length => Split.Length;

    public override InputSplit Split { get; }

    /// <summary>Bytes handed out through <see cref="OpenObjectAsync"/>.</summary>
    public long BytesOpened { get; private set; }

    public override ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Wrap(new MemoryStream(_data, (int)Split.Offset, (int)Split.Length, writable: false)));

    private Stream Wrap(MemoryStream stream) => Chunky is { } most ? new ChunkyStream(stream, most) : stream;

    public override ValueTask<Stream> OpenObjectAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        if (offset < 0 || length < 0 || offset > _data.Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset} to {offset + length} lie outside the object of {_data.Length} bytes");
        }

        BytesOpened += length;
        return ValueTask.FromResult(Wrap(new MemoryStream(_data, (int)offset, (int)length, writable: false)));
    }
}

/// <summary>Reads an inner stream in pieces of random size (seeded), never more than asked.</summary>
internal sealed class ChunkyStream(Stream inner, int most) : Stream
{
    private readonly Random _random = new(most);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => inner.Read(buffer[..Math.Min(buffer.Length, _random.Next(1, most + 1))]);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer[..Math.Min(buffer.Length, _random.Next(1, most + 1))], cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>The output of another task (a run) held in memory.</summary>
internal sealed class RunInput(string name, byte[] data) : TaskInput
{
    public override string Name => name;

    public override long Length => data.Length;

    public override ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<Stream>(new MemoryStream(data, writable: false));
}

/// <summary>A partitioned output in memory: one stream, and where each partition starts.</summary>
#pragma warning disable CA1001 // A memory stream holds no resource.
internal sealed class MemoryPartitionedOutput : PartitionedOutput
#pragma warning restore CA1001
{
    private readonly MemoryStream _stream = new();
    private readonly List<(string Name, long Start)> _starts = [];

    public override Stream Stream => _stream;

    public override void StartPartition(string name)
    {
        Assert.DoesNotContain(_starts, s => s.Name == name);
        _starts.Add((name, _stream.Position));
    }

    /// <summary>The bytes of each started partition.</summary>
    public Dictionary<string, byte[]> Slices()
    {
        var all = _stream.ToArray();
        var slices = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < _starts.Count; i++)
        {
            var end = i + 1 < _starts.Count ? _starts[i + 1].Start : all.Length;
            slices[_starts[i].Name] = all[(int)_starts[i].Start..(int)end];
        }

        return slices;
    }
}

/// <summary>A task context in memory: inputs given, outputs kept.</summary>
internal sealed class MemoryTaskContext(IReadOnlyList<TaskInput> inputs, IReadOnlyList<string> outputNames, TaskId? taskId = null) : ObjectTaskContext
{
    /// <summary>What <see cref="MaxOpenInputs"/> says: unbounded unless a test bounds it.</summary>
    public int OpenInputs { get; init; } = int.MaxValue;

    public override int MaxOpenInputs => OpenInputs;

    public override string JobName => "records-test";

    public override TaskId TaskId { get; } = taskId ?? new TaskId(0, 3);

    public override int Attempt => 1;

    public override IReadOnlyList<TaskInput> Inputs => inputs;

    public override IReadOnlyList<string> OutputNames => outputNames;

    public Dictionary<string, MemoryStream> Outputs { get; } = new(StringComparer.Ordinal);

    public MemoryPartitionedOutput? Partitioned { get; private set; }

    public string Text(string name) => Encoding.UTF8.GetString(Outputs[name].ToArray());

    public override ValueTask<Stream> CreateOutputAsync(string name, CancellationToken cancellationToken = default)
    {
        Assert.Contains(name, outputNames);
        var stream = new MemoryStream();
        Outputs.Add(name, stream);
        return ValueTask.FromResult<Stream>(stream);
    }

    public override ValueTask<PartitionedOutput> CreatePartitionedOutputAsync(IReadOnlyList<string> names, CancellationToken cancellationToken = default)
    {
        Assert.Null(Partitioned);
        Assert.Equal(outputNames, names);
        Partitioned = new MemoryPartitionedOutput();
        return ValueTask.FromResult<PartitionedOutput>(Partitioned);
    }

    public override ValueTask ConcatenateAsync(string name, IReadOnlyList<TaskInput> inputs, ConcatenationOptions options, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();
}

/// <summary>Word-count pieces: words split on spaces, counts added.</summary>
internal sealed class SpaceWordMapper : Mapper<string, long>
{
    public override void Map(ReadOnlySpan<char> record, MapOutput<string, long> output)
    {
        foreach (var range in record.Split(' '))
        {
            if (!record[range].IsEmpty)
            {
                output.EmitText(record[range], 1);
            }
        }
    }
}

internal sealed class SumCombiner : ICombiner<long>
{
    public long Combine(long first, long second) => first + second;
}

internal sealed class SumReducer : Reducer<string, long, long>
{
    public override long Reduce(string key, IReadOnlyList<long> values) => values.Sum();
}

/// <summary>
/// Points <see cref="Path.GetTempPath"/> (where map and reduce tasks spill) at a folder of the test's own while it
/// lives, so that a test can see the spill folders come and go. Only for tests in <see cref="SpillCollection"/>, which
/// run alone.
/// </summary>
internal sealed class PrivateTempPath : IDisposable
{
    private readonly string? _previous = Environment.GetEnvironmentVariable("TMPDIR");

    public PrivateTempPath()
    {
        Root = Path.Combine(Path.GetTempPath(), "dataflow-records-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Environment.SetEnvironmentVariable("TMPDIR", Root);
        Assert.Equal(Path.TrimEndingDirectorySeparator(Root), Path.TrimEndingDirectorySeparator(Path.GetTempPath()));
    }

    public string Root { get; }

    /// <summary>Where the operators make their spill folders.</summary>
    public string SpillRoot => Path.Combine(Root, "dataflow-spill");

    /// <summary>Spill folders and files left under <see cref="SpillRoot"/>.</summary>
    public string[] Leftovers() => Directory.Exists(SpillRoot) ? Directory.GetFileSystemEntries(SpillRoot, "*", SearchOption.AllDirectories) : [];

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("TMPDIR", _previous);
        Directory.Delete(Root, recursive: true);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SpillCollection
{
    public const string Name = "spills";
}
