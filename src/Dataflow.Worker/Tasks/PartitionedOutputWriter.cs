using System.IO.Hashing;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// Writes several outputs as consecutive slices of one object, hashing each slice on the way, so that each output
/// commits as a reference to its slice with the slice's own checksum.
/// </summary>
/// <remarks>Its stream owns nothing (the task runner completes or disposes the underlying writer), so it needs no disposing.</remarks>
#pragma warning disable CA1001
internal sealed class PartitionedOutputWriter : PartitionedOutput
#pragma warning restore CA1001
{
    private readonly ObjectWriteStream _writer;
    private readonly RunCounters _counters;
    private readonly string[] _names;
    private readonly long[] _offsets;
    private readonly long[] _lengths;
    private readonly string?[] _checksums;
    private readonly SliceStream _stream;
    private int _current = -1;
    private long _position;
    private XxHash3? _hash;

    public PartitionedOutputWriter(ObjectWriteStream writer, IReadOnlyList<string> names, RunCounters counters)
    {
        _writer = writer;
        _counters = counters;
        _names = [.. names];
        _offsets = new long[names.Count];
        _lengths = new long[names.Count];
        _checksums = new string?[names.Count];
        _stream = new SliceStream(this);
    }

    public ObjectWriteStream Writer => _writer;

    public override Stream Stream => _stream;

    public override void StartPartition(string name)
    {
        var index = Array.IndexOf(_names, name);
        if (index < 0)
        {
            throw new ArgumentException($"'{name}' is not one of this partitioned output's names", nameof(name));
        }

        if (_offsets[index] != 0 || _lengths[index] != 0 || _checksums[index] is not null || index == _current)
        {
            throw new ArgumentException($"partition '{name}' was already started", nameof(name));
        }

        EndCurrent();
        _current = index;
        _offsets[index] = _position;
        _hash = new XxHash3();
    }

    /// <summary>Completes the object and describes every output as a slice of it.</summary>
    public async ValueTask<IEnumerable<CommittedOutput>> CompleteAsync(CancellationToken cancellationToken)
    {
        EndCurrent();
        if (_position == 0)
        {
            // Nothing in any partition (a map task whose split held no record): no object at all, which nothing
            // would ever reference and so nothing would ever collect.
            await _writer.DisposeAsync().ConfigureAwait(false);
            return _names.Select(name => new CommittedOutput { Name = name, Size = 0, Segments = [] }).ToArray();
        }

        var info = await _writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return _names.Select((name, i) => new CommittedOutput
        {
            Name = name,
            Size = _lengths[i],
            Segments = _lengths[i] == 0 ? [] : [new ObjectSegment(info.Key, _offsets[i], _lengths[i]) { ETag = info.ETag }],
            Checksum = _lengths[i] == 0 ? null : _checksums[i],
        }).ToArray();
    }

    private void EndCurrent()
    {
        if (_current >= 0 && _hash is not null)
        {
            _checksums[_current] = Checksums.Format(_hash);
            _hash = null;
        }
    }

    private void Account(ReadOnlySpan<byte> bytes)
    {
        if (_current < 0 && !bytes.IsEmpty)
        {
            throw new InvalidOperationException("start a partition before writing to a partitioned output");
        }

        _hash?.Append(bytes);
        _lengths[_current] += bytes.Length;
        _position += bytes.Length;
        _counters.AddWritten(bytes.Length);
    }

    private sealed class SliceStream(PartitionedOutputWriter owner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => owner._position;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            owner.Account(buffer);
            owner._writer.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            owner.Account(buffer.Span);
            await owner._writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
