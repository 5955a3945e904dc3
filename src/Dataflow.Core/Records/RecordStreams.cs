using System.Buffers;
using System.Text;

namespace Dataflow.Core;

/// <summary>
/// Reads and writes streams of records in a <see cref="RecordFileFormat"/>: one record per line of text, or the
/// binary record format (<c>varint length, the codec's bytes</c> per record). Readers are async enumerators, so
/// they plug into <see cref="SortedMerger{T}"/>.
/// </summary>
public static class RecordStreams
{
    /// <summary>
    /// Reads the records of <paramref name="stream"/> in <paramref name="format"/>, one at a time with a 64 KiB buffer;
    /// disposing the reader disposes the stream.
    /// </summary>
    /// <param name="stream">What to read.</param>
    /// <param name="format">Its format.</param>
    /// <param name="name">What the stream is (an object key), for errors.</param>
    /// <param name="codec">For <see cref="RecordFileFormat.Binary"/>: the records' codec.</param>
    /// <param name="text">For <see cref="RecordFileFormat.Text"/>: how a line parses.</param>
    /// <param name="cancellationToken">Cancels reads.</param>
    /// <exception cref="ArgumentException">The format's codec or text format is missing.</exception>
    /// <remarks>
    /// Reading throws <see cref="InvalidDataException"/> for binary records that end mid-record, and
    /// <see cref="RecordProcessingException"/> (naming <paramref name="name"/> and the line) for a line that does not parse.
    /// </remarks>
    public static IAsyncEnumerator<T> OpenReader<T>(Stream stream, RecordFileFormat format, string name, RecordCodec<T>? codec = null, TextRecordFormat<T>? text = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        return format switch
        {
            RecordFileFormat.Binary => new BinaryRecordReader<T>(stream, name, codec ?? throw new ArgumentException("binary records need a codec", nameof(codec)), cancellationToken),
            RecordFileFormat.Text => new TextRecordReader<T>(stream, name, text ?? throw new ArgumentException("text records need a text format", nameof(text)), cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a record file format"),
        };
    }

    /// <summary>Writes records to <paramref name="stream"/> in <paramref name="format"/>; call <see cref="RecordStreamWriter{T}.FlushAsync"/> after the last.</summary>
    /// <exception cref="ArgumentException">The format's codec or text format is missing.</exception>
    public static RecordStreamWriter<T> CreateWriter<T>(Stream stream, RecordFileFormat format, RecordCodec<T>? codec = null, TextRecordFormat<T>? text = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return format switch
        {
            RecordFileFormat.Binary => new BinaryRecordStreamWriter<T>(stream, codec ?? throw new ArgumentException("binary records need a codec", nameof(codec))),
            RecordFileFormat.Text => new TextRecordStreamWriter<T>(stream, text ?? throw new ArgumentException("text records need a text format", nameof(text))),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a record file format"),
        };
    }

    private sealed class BinaryRecordReader<T>(Stream stream, string name, RecordCodec<T> codec, CancellationToken cancellationToken)
        : BufferedRecordReader(stream, name, 64 * 1024), IAsyncEnumerator<T>
    {
        public T Current { get; private set; } = default!;

        public ValueTask<bool> MoveNextAsync() => ReadNextAsync(cancellationToken);

        protected override bool TryParse(ReadOnlySpan<byte> bytes, bool atEnd, out int consumed)
        {
            if (FramedWriter.TryReadField(bytes, out var record, out consumed))
            {
                Current = codec.Read(record);
                return true;
            }

            return atEnd ? throw new InvalidDataException($"{Name} ends in the middle of a binary record") : false;
        }
    }

    private sealed class TextRecordReader<T>(Stream stream, string name, TextRecordFormat<T> format, CancellationToken cancellationToken)
        : BufferedRecordReader(stream, name, 64 * 1024), IAsyncEnumerator<T>
    {
        private char[] _chars = [];
        private long _line;

        public T Current { get; private set; } = default!;

        public ValueTask<bool> MoveNextAsync() => ReadNextAsync(cancellationToken);

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync().ConfigureAwait(false);
            if (_chars.Length > 0)
            {
                ArrayPool<char>.Shared.Return(_chars);
                _chars = [];
            }
        }

        protected override bool TryParse(ReadOnlySpan<byte> bytes, bool atEnd, out int consumed)
        {
            var newline = bytes.IndexOf((byte)'\n');
            if (newline < 0 && !atEnd)
            {
                consumed = 0;
                return false;
            }

            consumed = newline < 0 ? bytes.Length : newline + 1;
            var line = bytes[..(newline < 0 ? bytes.Length : newline)];
            if (_line == 0 && line.StartsWith("\uFEFF"u8))
            {
                line = line[3..];
            }

            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            _line++;
            var count = Encoding.UTF8.GetMaxCharCount(line.Length);
            if (_chars.Length < count)
            {
                if (_chars.Length > 0)
                {
                    ArrayPool<char>.Shared.Return(_chars);
                }

                _chars = ArrayPool<char>.Shared.Rent(Math.Max(count, 256));
            }

            var chars = _chars.AsSpan(0, Encoding.UTF8.GetChars(line, _chars));
            try
            {
                Current = format.Parse(chars);
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
            {
                throw new RecordProcessingException($"{Name}, line {_line}: not a record: {ex.Message}", ex);
            }

            return true;
        }
    }

    private sealed class BinaryRecordStreamWriter<T>(Stream stream, RecordCodec<T> codec) : RecordStreamWriter<T>
    {
        private readonly FramedWriter _framed = new(stream);

        public override ValueTask WriteAsync(T record, CancellationToken cancellationToken = default)
        {
            _framed.Write(codec, record);
            return _framed.IsFull ? _framed.FlushAsync(cancellationToken) : ValueTask.CompletedTask;
        }

        public override ValueTask FlushAsync(CancellationToken cancellationToken = default) => _framed.FlushAsync(cancellationToken);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "Disposing the StreamWriter would close the caller's stream; FlushAsync writes all it holds.")]
    private sealed class TextRecordStreamWriter<T>(Stream stream, TextRecordFormat<T> format) : RecordStreamWriter<T>
    {
        // 16 Ki chars (and the encoder's 48 KiB of bytes) stay below the large object heap, as FramedWriter's buffer does.
        private const int FlushAt = 16 * 1024;

        private readonly StreamWriter _text = new(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), FlushAt) { NewLine = "\n" };

        public override ValueTask WriteAsync(T record, CancellationToken cancellationToken = default)
        {
            format.Format(record, _text);
            _text.Write('\n');
            return ValueTask.CompletedTask;
        }

        public override async ValueTask FlushAsync(CancellationToken cancellationToken = default) =>
            await _text.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
