using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Dataflow.Core;

/// <summary>
/// Decompresses a gzip object (RFC 1952) member by member, checking each member's CRC-32 and length against its
/// trailer. <see cref="GZipStream"/> (unless a process-wide switch is set before its first use) ends quietly where the
/// bytes end, so a truncated object would read as less data; this stream fails instead, naming the object.
/// </summary>
/// <remarks>
/// Each member's deflate data is inflated by a <see cref="DeflateStream"/>, which reads ahead: it is fed through a
/// buffer that keeps what it was given, and the member's 8-byte trailer — whose value is known once the member is
/// inflated — is found among the bytes it was given (or the next few), after which the next member starts.
/// </remarks>
internal sealed class GzipReadStream : ReadOnlyStream
{
    private readonly Input _input;
    private readonly string _key;
    private readonly Crc32 _crc = new();
    private DeflateStream? _member;
    private long _length;
    private int _members;
    private bool _ended;

    public GzipReadStream(Stream compressed, string key)
    {
        _input = new Input(compressed);
        _key = key;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || _ended)
        {
            return 0;
        }

        while (true)
        {
            if (_member is null)
            {
                if (!await StartMemberAsync(cancellationToken).ConfigureAwait(false))
                {
                    _ended = true;
                    return 0;
                }

                _member = new DeflateStream(_input, CompressionMode.Decompress, leaveOpen: true);
                _crc.Reset();
                _length = 0;
            }

            int n;
            try
            {
                n = await _member.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException ex) when (!_input.SourceFailed)
            {
                throw Corrupt($"gzip member {_members} does not inflate: {ex.Message}", ex);
            }

            if (n > 0)
            {
                _crc.Append(buffer.Span[..n]);
                _length += n;
                return n;
            }

            await _member.DisposeAsync().ConfigureAwait(false);
            _member = null;
            await EndMemberAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _member?.Dispose();
            _member = null;
            _input.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Reads a member's header; false at the end of the object (which may also be empty).</summary>
    private async ValueTask<bool> StartMemberAsync(CancellationToken cancellationToken)
    {
        var offset = _input.Offset;
        var id1 = await _input.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        if (id1 < 0)
        {
            return false;
        }

        var id2 = await _input.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        var method = await _input.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        if (id1 != 0x1F || id2 != 0x8B || method != 8)
        {
            throw Corrupt(_members == 0
                ? "it does not start with a gzip header"
                : $"the bytes from {offset}, after gzip member {_members}, are not a gzip member");
        }

        var flags = await _input.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        await SkipAsync(6, cancellationToken).ConfigureAwait(false); // MTIME, XFL, OS
        if ((flags & 0x04) != 0)
        {
            // FEXTRA: a 2-byte length and that many bytes.
            var low = await _input.ReadByteAsync(cancellationToken).ConfigureAwait(false);
            var high = await _input.ReadByteAsync(cancellationToken).ConfigureAwait(false);
            await SkipAsync(low | (high << 8), cancellationToken).ConfigureAwait(false);
        }

        for (var field = 0x08; field <= 0x10; field <<= 1)
        {
            // FNAME and FCOMMENT: zero-terminated.
            if ((flags & field) != 0)
            {
                int b;
                while ((b = await _input.ReadByteAsync(cancellationToken).ConfigureAwait(false)) > 0)
                {
                }

                if (b < 0)
                {
                    throw Corrupt($"it ends inside the header of gzip member {_members + 1}");
                }
            }
        }

        if ((flags & 0x02) != 0)
        {
            await SkipAsync(2, cancellationToken).ConfigureAwait(false); // FHCRC
        }

        _members++;
        _input.MarkMemberStart();
        return true;
    }

    private async ValueTask SkipAsync(int count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            if (await _input.ReadByteAsync(cancellationToken).ConfigureAwait(false) < 0)
            {
                throw Corrupt($"it ends inside the header of gzip member {_members + 1}");
            }
        }
    }

    /// <summary>Finds the trailer of the member just inflated, and moves past it.</summary>
    private async ValueTask EndMemberAsync(CancellationToken cancellationToken)
    {
        var trailer = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), (uint)_length);
        if (!await _input.SkipPastAsync(trailer, cancellationToken).ConfigureAwait(false))
        {
            throw Corrupt($"gzip member {_members} ends without the CRC-32 and length of its {_length} bytes: the object is truncated or corrupt");
        }
    }

    private InvalidDataException Corrupt(string problem, Exception? inner = null) =>
        CorruptInputException.Create($"'{_key}' is not valid gzip data: {problem}", inner);

    /// <summary>
    /// The compressed bytes, through a buffer that keeps at least <see cref="History"/> bytes of what was already
    /// read, handed out in pieces of at most <see cref="Piece"/> bytes, so that whatever a <see cref="DeflateStream"/>
    /// read ahead of its member's end is still in the buffer.
    /// </summary>
    private sealed class Input(Stream source) : ReadOnlyStream
    {
        private const int Piece = 16 * 1024;
        private const int History = 64 * 1024;

        private readonly byte[] _buffer = new byte[2 * History];
        private long _bufferOffset; // the object offset of _buffer[0]
        private int _position;
        private int _end;
        private long _memberStart;
        private bool _eof;

        /// <summary>True when reading the compressed object itself failed (its errors are not this format's).</summary>
        public bool SourceFailed { get; private set; }

        /// <summary>The object offset of the next byte.</summary>
        public long Offset => _bufferOffset + _position;

        public void MarkMemberStart() => _memberStart = Offset;

        public async ValueTask<int> ReadByteAsync(CancellationToken cancellationToken)
        {
            if (_position == _end && !await FillAsync(1, cancellationToken).ConfigureAwait(false))
            {
                return -1;
            }

            return _buffer[_position++];
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty || (_position == _end && !await FillAsync(1, cancellationToken).ConfigureAwait(false)))
            {
                return 0;
            }

            var n = Math.Min(Math.Min(buffer.Length, _end - _position), Piece);
            _buffer.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        /// <summary>
        /// Finds <paramref name="trailer"/> where the member's deflate data may have ended — after the member's start
        /// (or the oldest byte kept) and no later than the bytes handed out — and moves past it; false when it is not
        /// there. Of several places (the trailer of an empty member is 8 zero bytes) the first one followed by the end
        /// of the object or by another member wins.
        /// </summary>
        public async ValueTask<bool> SkipPastAsync(byte[] trailer, CancellationToken cancellationToken)
        {
            // The trailer may start right at the position, and a member's header (1F 8B) may follow it.
            await FillAsync(trailer.Length + 2, cancellationToken).ConfigureAwait(false);
            var from = (int)Math.Max(0, Math.Max(_memberStart - _bufferOffset, _position - (2L * Piece)));
            var last = Math.Min(_position, _end - trailer.Length);
            int? first = null;
            for (var i = from; i <= last; i++)
            {
                var found = _buffer.AsSpan(i, last + trailer.Length - i).IndexOf(trailer);
                if (found < 0)
                {
                    break;
                }

                i += found;
                var next = i + trailer.Length;
                if ((next == _end && _eof) || (_end - next >= 2 && _buffer[next] == 0x1F && _buffer[next + 1] == 0x8B))
                {
                    _position = next;
                    return true;
                }

                first ??= next;
            }

            if (first is { } after)
            {
                _position = after;
                return true;
            }

            return false;
        }

        /// <summary>Reads until at least <paramref name="count"/> bytes lie after the position, or the object ends; true if they do.</summary>
        private async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
        {
            while (_end - _position < count && !_eof)
            {
                if (_end == _buffer.Length)
                {
                    // Keep the last History bytes before the position, and what follows it.
                    var keep = Math.Max(0, _position - History);
                    Buffer.BlockCopy(_buffer, keep, _buffer, 0, _end - keep);
                    _bufferOffset += keep;
                    _position -= keep;
                    _end -= keep;
                }

                int n;
                try
                {
                    n = await source.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    SourceFailed = true;
                    throw;
                }

                _eof = n == 0;
                _end += n;
            }

            return _end - _position >= count;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                source.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
