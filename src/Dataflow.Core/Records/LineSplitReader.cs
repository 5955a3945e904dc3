using System.Buffers;
using System.Globalization;
using System.Text;

namespace Dataflow.Core;

/// <summary>
/// Reads the lines of a job input split. A line belongs to the split that holds its first byte — as Hadoop's line
/// splits do — so every line of an object is read by exactly one split: a split that does not start at byte 0 skips
/// the line already under way (unless the byte before it is a line break), and the last line of a split is read to
/// its end even when that lies beyond the split. Objects ending in <c>.gz</c> or <c>.zst</c> are decompressed and
/// read whole.
/// </summary>
internal static class LineSplitReader
{
    /// <summary>A line longer than this fails the task rather than exhausting memory.</summary>
    public const int MaxLineBytes = 64 << 20;

    private const int Chunk = 64 * 1024;

    /// <summary>Calls <paramref name="onLine"/> with each line of <paramref name="input"/> and the byte offset where it starts (in the decompressed bytes for compressed objects).</summary>
    public static async Task ReadAsync(TaskInput input, Action<ReadOnlySpan<char>, long> onLine, CancellationToken cancellationToken)
    {
        var split = input.Split ?? throw new InvalidOperationException($"input {input.Name} is not a job input: map tasks read job inputs");
        Stream stream;
        long position, end;
        if (InputSplit.IsCompressed(split.Key))
        {
            if (!split.IsWholeObject)
            {
                throw new InvalidDataException($"'{split.Key}' is compressed and cannot be read from byte {split.Offset}");
            }

            stream = Decompressing(await input.OpenReadAsync(cancellationToken).ConfigureAwait(false), split.Key);
            (position, end) = (0, long.MaxValue);
        }
        else if (split.Offset == 0)
        {
            stream = new ExtendingStream(input, 0, split);
            (position, end) = (0, split.End == split.ObjectLength ? long.MaxValue : split.End);
        }
        else
        {
            // Start one byte early: whether that byte is a line break decides who owns the line at the split's start.
            stream = new ExtendingStream(input, split.Offset - 1, split);
            (position, end) = (split.Offset - 1, split.End == split.ObjectLength ? long.MaxValue : split.End);
        }

        await using (stream.ConfigureAwait(false))
        {
            await ReadLinesAsync(stream, position, end, skipFirst: split.Offset > 0 && !InputSplit.IsCompressed(split.Key), split.Key, onLine, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Where a record of object <paramref name="key"/> starts, for a message: <c>byte 27 of 'in/a.txt'</c>, or for a
    /// compressed object, read decompressed, <c>byte 27 of the decompressed bytes of 'in/a.txt.gz'</c>.
    /// </summary>
    public static string Where(string key, long offset) => string.Create(
        CultureInfo.InvariantCulture,
        $"byte {offset} of {(InputSplit.IsCompressed(key) ? "the decompressed bytes of " : "")}'{key}'");

    /// <summary>The decompressed bytes of <paramref name="raw"/>, the object <paramref name="key"/> ending in <c>.gz</c> or <c>.zst</c>.</summary>
    internal static Stream Decompressing(Stream raw, string key) =>
        // Not GZipStream: it reads a truncated object as less data, without an error.
        key.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GzipReadStream(raw, key) : new ZstdReadStream(raw, key);

    private static ReadOnlySpan<byte> Utf8ByteOrderMark => [0xEF, 0xBB, 0xBF];

    private static async Task ReadLinesAsync(Stream stream, long position, long end, bool skipFirst, string key, Action<ReadOnlySpan<char>, long> onLine, CancellationToken cancellationToken)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Chunk);
        var chars = ArrayPool<char>.Shared.Rent(Chunk);
        var start = 0;
        var filled = 0;
        var eof = false;
        try
        {
            while (true)
            {
                var newline = bytes.AsSpan(start, filled - start).IndexOf((byte)'\n');
                if (newline < 0 && !eof)
                {
                    // Need more bytes: move what is left to the front (growing for long lines) and read.
                    if (start > 0)
                    {
                        Buffer.BlockCopy(bytes, start, bytes, 0, filled - start);
                        filled -= start;
                        start = 0;
                    }

                    if (filled == bytes.Length)
                    {
                        if (bytes.Length >= MaxLineBytes)
                        {
                            throw new InvalidDataException($"the line at {Where(key, position)} is longer than {MaxLineBytes} bytes");
                        }

                        var larger = ArrayPool<byte>.Shared.Rent(bytes.Length * 2);
                        Buffer.BlockCopy(bytes, 0, larger, 0, filled);
                        ArrayPool<byte>.Shared.Return(bytes);
                        bytes = larger;
                    }

                    var read = await stream.ReadAsync(bytes.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                    eof = read == 0;
                    filled += read;
                    continue;
                }

                var length = newline < 0 ? filled - start : newline;
                if (length == 0 && newline < 0)
                {
                    return;
                }

                var line = bytes.AsSpan(start, length);
                var consumed = newline < 0 ? length : length + 1;
                if (skipFirst)
                {
                    // The line under way at the split's start belongs to the split before (it may be empty: the byte
                    // before the split was a line break, and the next line is ours).
                    skipFirst = false;
                }
                else
                {
                    if (position >= end)
                    {
                        return;
                    }

                    if (line.Length > 0 && line[^1] == (byte)'\r')
                    {
                        line = line[..^1];
                    }

                    // A UTF-8 byte-order mark starts the object, not its first record.
                    if (position == 0 && line.StartsWith(Utf8ByteOrderMark))
                    {
                        line = line[Utf8ByteOrderMark.Length..];
                    }

                    if (chars.Length < line.Length)
                    {
                        ArrayPool<char>.Shared.Return(chars);
                        chars = ArrayPool<char>.Shared.Rent(line.Length);
                    }

                    var count = Encoding.UTF8.GetChars(line, chars);
                    onLine(chars.AsSpan(0, count), position);
                }

                position += consumed;
                start += consumed;
                if (newline < 0)
                {
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>Decompresses a zstd object; its errors (a truncated or corrupt object) name the object.</summary>
    private sealed class ZstdReadStream(Stream compressed, string key) : ReadOnlyStream
    {
        private readonly ZstdSharp.DecompressionStream _inner = new(compressed);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ZstdSharp.ZstdException or EndOfStreamException)
            {
                throw CorruptInputException.Create($"'{key}' is not valid zstd data: {ex.Message}", ex);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Reads an object from a position, range by range: first up to the split's end, then onwards in small ranges,
    /// since the last line usually ends a few bytes after the split (and rarely much further).
    /// </summary>
    private sealed class ExtendingStream(TaskInput input, long offset, InputSplit split) : ConcatenatedReadStream
    {
        private long _next = offset;
        private long _extension = Chunk;

        protected override async ValueTask<Stream?> OpenNextAsync(CancellationToken cancellationToken)
        {
            if (_next >= split.ObjectLength)
            {
                return null;
            }

            var length = _next < split.End ? split.End - _next : Math.Min(_extension, split.ObjectLength - _next);
            if (_next >= split.End)
            {
                _extension = Math.Min(_extension * 2, 16L << 20);
            }

            var stream = await input.OpenObjectAsync(_next, length, cancellationToken).ConfigureAwait(false);
            _next += length;
            return stream;
        }
    }
}
