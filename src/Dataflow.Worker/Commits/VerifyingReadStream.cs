using System.IO.Hashing;

namespace Dataflow.Worker;

/// <summary>
/// Reads an input and checks it against what its producer committed: exactly <c>expectedLength</c> bytes and, when
/// known, the checksum. A mismatch throws <see cref="InvalidDataException"/> naming the input, at the point it is found
/// (too many bytes) or at the end (too few, wrong checksum). Counts the bytes it delivers.
/// </summary>
internal sealed class VerifyingReadStream : ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly string _name;
    private readonly long _expectedLength;
    private readonly string? _expectedChecksum;
    private readonly XxHash3? _hash;
    private readonly RunCounters _counters;
    private readonly string? _objectKey;
    private long _read;
    private bool _verified;

    /// <param name="inner">The bytes.</param>
    /// <param name="name">The input, as messages name it.</param>
    /// <param name="expectedLength">Its recorded length.</param>
    /// <param name="expectedChecksum">Its recorded checksum, if any.</param>
    /// <param name="counters">Where the bytes read are counted.</param>
    /// <param name="objectKey">The one object the bytes come from, if they come from one: a mismatch is then an
    /// <see cref="InputLostException"/> naming it (bytes from several objects are checked piece by piece as they are read).</param>
    public VerifyingReadStream(Stream inner, string name, long expectedLength, string? expectedChecksum, RunCounters counters, string? objectKey = null)
    {
        _inner = inner;
        _objectKey = objectKey;
        _name = name;
        _expectedLength = expectedLength;
        _counters = counters;
        if (expectedChecksum is not null && Checksums.IsSupported(expectedChecksum))
        {
            _expectedChecksum = expectedChecksum;
            _hash = new XxHash3();
        }
    }

    public override long Length => _expectedLength;

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer) => Account(buffer, _inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span, n);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Account(Span<byte> buffer, int n)
    {
        if (n > 0 && buffer.Length > 0)
        {
            _read += n;
            _counters.AddRead(n);
            if (_read > _expectedLength)
            {
                throw Mismatch($"input {_name} is longer than the {_expectedLength} bytes recorded for it");
            }

            _hash?.Append(buffer[..n]);
        }
        else if (n == 0 && buffer.Length > 0 && !_verified)
        {
            _verified = true;
            if (_read != _expectedLength)
            {
                throw Mismatch($"input {_name} ended after {_read} of the {_expectedLength} bytes recorded for it");
            }

            if (_hash is not null && !string.Equals(Checksums.Format(_hash), _expectedChecksum, StringComparison.Ordinal))
            {
                throw Mismatch($"input {_name} does not match its recorded checksum {_expectedChecksum} (read {Checksums.Format(_hash)})");
            }
        }

        return n;
    }

    private Exception Mismatch(string message) =>
        _objectKey is null ? new InvalidDataException(message) : new InputLostException(_objectKey, $"{message} (object '{_objectKey}')", new InvalidDataException(message));
}
