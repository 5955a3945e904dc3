using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Examples.WordCount;

/// <summary>
/// What the default check compares: the number of words and a checksum of them, summed over every occurrence of every
/// word. The checksum adds a 64-bit hash of each occurrence (of the word as <see cref="Words"/> defines it,
/// lower-cased), so it is the same however the words are grouped: the input's occurrences one by one, or the output's
/// lines as <c>count × hash(word)</c>. Equal tallies mean every word has its count, short of a 64-bit coincidence.
/// </summary>
/// <param name="Total">Words counted (occurrences).</param>
/// <param name="Checksum">The sum, modulo 2^64, of the hash of every occurrence.</param>
public readonly record struct WordTally(long Total, ulong Checksum)
{
    /// <summary>The tally of <paramref name="count"/> occurrences of <paramref name="word"/>.</summary>
    public static WordTally Of(string word, long count, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(word);
        var hash = new WordHash(seed);
        foreach (var rune in word.EnumerateRunes())
        {
            hash.Add(rune.Value);
        }

        return new WordTally(count, unchecked(hash.Finish() * (ulong)count));
    }

    /// <summary>Both tallies added.</summary>
    public static WordTally operator +(WordTally left, WordTally right) => new(left.Total + right.Total, unchecked(left.Checksum + right.Checksum));

    /// <summary>Both tallies added (the named form of <c>+</c>).</summary>
    public static WordTally Add(WordTally left, WordTally right) => left + right;

    /// <summary>
    /// Tallies the words of the text objects <paramref name="objects"/> in one streaming pass, <paramref name="parallelism"/>
    /// ranges at a time (objects are cut into ranges of at most <paramref name="rangeSize"/> bytes, each owning the
    /// lines that start in it, as the job's splits do). Memory: a read buffer per range being read.
    /// </summary>
    public static async Task<WordTally> OfInputsAsync(IObjectStore store, IReadOnlyList<PlanInput> objects, ulong seed, int parallelism, long rangeSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(objects);
        ArgumentOutOfRangeException.ThrowIfLessThan(rangeSize, 1);
        var ranges = new List<(string Key, long Size, long Start, long End)>();
        foreach (var o in objects)
        {
            for (var start = 0L; start < o.Size; start += rangeSize)
            {
                ranges.Add((o.Key, o.Size, start, Math.Min(o.Size, start + rangeSize)));
            }
        }

        var total = 0L;
        var checksum = 0UL;
        await Parallel.ForEachAsync(ranges, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken }, async (range, token) =>
        {
            var tally = await OfRangeAsync(store, range.Key, range.Size, range.Start, range.End, seed, token).ConfigureAwait(false);
            Interlocked.Add(ref total, tally.Total);
            InterlockedAdd(ref checksum, tally.Checksum);
        }).ConfigureAwait(false);
        return new WordTally(total, checksum);
    }

    private static void InterlockedAdd(ref ulong target, ulong value)
    {
        ulong seen, next;
        do
        {
            seen = Volatile.Read(ref target);
            next = unchecked(seen + value);
        }
        while (Interlocked.CompareExchange(ref target, next, seen) != seen);
    }

    /// <summary>The lines that start in [<paramref name="start"/>, <paramref name="end"/>) of an object of <paramref name="size"/> bytes.</summary>
    private static async Task<WordTally> OfRangeAsync(IObjectStore store, string key, long size, long start, long end, ulong seed, CancellationToken cancellationToken)
    {
        // From the byte before the range: whether it is a line break decides who owns the line under way at the start.
        var from = Math.Max(0, start - 1);
        var stream = new RangeStream(store, key, size, from, end);
        // A buffer for the range and the line under way at its end, up to 1 MiB.
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(end - from + (4 << 10), 4 << 10, 1 << 20));
        try
        {
            await using (stream.ConfigureAwait(false))
            {
                var scanner = new WordScanner(seed);
                var position = from;
                var kept = 0;
                var skipping = start > 0;
                var lineStart = true;
                while (true)
                {
                    var read = await stream.ReadAsync(buffer.AsMemory(kept), cancellationToken).ConfigureAwait(false);
                    var filled = kept + read;
                    var final = read == 0;
                    var span = buffer.AsSpan(0, filled);
                    var offset = 0;
                    if (skipping)
                    {
                        var newline = span.IndexOf((byte)'\n');
                        if (newline < 0)
                        {
                            position += filled;
                            kept = 0;
                            if (final)
                            {
                                break;
                            }

                            continue;
                        }

                        skipping = false;
                        offset = newline + 1;
                    }

                    if (position + offset < end)
                    {
                        // The bytes before the range's end (a character that starts there is read whole).
                        offset = scanner.Scan(span, offset, (int)Math.Min(filled, end - position), final);
                    }

                    lineStart = offset > 0 ? span[offset - 1] == (byte)'\n' : lineStart;
                    if (position + offset >= end && !lineStart)
                    {
                        // Past the end: on to the end of the line under way, which is this range's. (A line that
                        // starts at or after the end is the next range's.)
                        var newline = span[offset..].IndexOf((byte)'\n');
                        offset = scanner.Scan(span, offset, newline < 0 ? filled : offset + newline + 1, final);
                        lineStart = offset > 0 ? span[offset - 1] == (byte)'\n' : lineStart;
                    }

                    if (final || (position + offset >= end && lineStart))
                    {
                        break;
                    }

                    // An incomplete character at the end of the buffer waits for the next read.
                    kept = filled - offset;
                    span[offset..].CopyTo(buffer);
                    position += offset;
                }

                return scanner.End();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// Reads an object from a position: first to a range's end and a little beyond (the line under way there usually
/// ends within a few bytes), then onwards in larger and larger reads, so that a store is never asked for the rest of
/// a large object only to have the read cut short.
/// </summary>
internal sealed class RangeStream(IObjectStore store, string key, long size, long from, long end) : IAsyncDisposable
{
    private const long Beyond = 64 << 10;

    private Stream? _current;
    private long _next = from;
    private long _extension = Beyond;

    /// <summary>Reads into <paramref name="buffer"/>; 0 at the object's end.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_current is null)
            {
                if (_next >= size)
                {
                    return 0;
                }

                var length = Math.Min(size - _next, _next < end ? end - _next + Beyond : _extension);
                if (_next >= end)
                {
                    _extension = Math.Min(_extension * 2, 16L << 20);
                }

                _current = await store.OpenReadAsync(key, _next, length, cancellationToken).ConfigureAwait(false);
                _next += length;
            }

            var read = await _current.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read > 0 || buffer.IsEmpty)
            {
                return read;
            }

            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_current is not null)
        {
            await _current.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// Finds the words of UTF-8 text as <see cref="Words.Split"/> does (runs of Unicode letters or digits, lower-cased
/// with the invariant culture), straight from the bytes, and tallies them without keeping them.
/// </summary>
internal struct WordScanner(ulong seed)
{
    // Every UTF-16 code unit of the Basic Multilingual Plane: its lower-case form if it is a letter or digit, else 0.
    private static readonly int[] s_plane = BuildPlane();

    private readonly ulong _seed = seed;
    private WordHash _hash = new(seed);
    private bool _inWord;
    private long _total;
    private ulong _checksum;

    /// <summary>
    /// Scans <paramref name="text"/> from <paramref name="offset"/> to at least <paramref name="limit"/> (a character
    /// that starts before it is read whole); returns where it stopped, short of <paramref name="limit"/> only for a
    /// character cut off by the end of the buffer when more text follows (not <paramref name="final"/>).
    /// </summary>
    public int Scan(ReadOnlySpan<byte> text, int offset, int limit, bool final)
    {
        // In locals, not fields, so that the loop keeps them in registers.
        var plane = s_plane;
        var (hash, inWord, total, checksum) = (_hash, _inWord, _total, _checksum);
        var i = offset;
        while (i < limit)
        {
            int lower;
            var b = text[i];
            if (b < 0x80)
            {
                lower = plane[b];
                i++;
            }
            else if (b is >= 0xC2 and < 0xE0 && i + 1 < text.Length && (text[i + 1] & 0xC0) == 0x80)
            {
                // Two bytes, the most common kind after ASCII: decoded here rather than by a call.
                lower = plane[((b & 0x1F) << 6) | (text[i + 1] & 0x3F)];
                i += 2;
            }
            else
            {
                var status = Rune.DecodeFromUtf8(text[i..], out var rune, out var consumed);
                if (status == OperationStatus.NeedMoreData && !final)
                {
                    break;
                }

                // Invalid bytes decode as U+FFFD, which is no letter: a word boundary, as in the job.
                lower = rune.Value < 0x10000 ? plane[rune.Value] : (Rune.IsLetterOrDigit(rune) ? Rune.ToLowerInvariant(rune).Value : 0);
                i += consumed;
            }

            if (lower != 0)
            {
                hash.Add(lower);
                inWord = true;
            }
            else if (inWord)
            {
                total++;
                checksum = unchecked(checksum + hash.Finish());
                hash = new WordHash(_seed);
                inWord = false;
            }
        }

        (_hash, _inWord, _total, _checksum) = (hash, inWord, total, checksum);
        return i;
    }

    /// <summary>The tally so far, the word under way included.</summary>
    public WordTally End()
    {
        if (_inWord)
        {
            EndWord();
        }

        return new WordTally(_total, _checksum);
    }

    private void EndWord()
    {
        _total++;
        _checksum = unchecked(_checksum + _hash.Finish());
        _hash = new WordHash(_seed);
        _inWord = false;
    }

    private static int[] BuildPlane()
    {
        var plane = new int[0x10000];
        for (var c = 0; c < plane.Length; c++)
        {
            if (Rune.TryCreate((char)c, out var rune) && Rune.IsLetterOrDigit(rune))
            {
                plane[c] = Rune.ToLowerInvariant(rune).Value;
            }
        }

        return plane;
    }
}

/// <summary>
/// The 64-bit hash of one word, character by character (lower-cased runes, FNV-1a style with a random start), mixed
/// at the end with MurmurHash3's finalizer so that a sum of many is as good as random.
/// </summary>
internal struct WordHash(ulong seed)
{
    private const ulong Prime = 0x100000001B3;

    private ulong _hash = seed;

    /// <summary>Adds one character (a rune's value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int lower) => _hash = unchecked((_hash ^ (uint)lower) * Prime);

    /// <summary>The word's hash.</summary>
    public readonly ulong Finish()
    {
        unchecked
        {
            var hash = _hash;
            hash ^= hash >> 33;
            hash *= 0xFF51AFD7ED558CCD;
            hash ^= hash >> 33;
            hash *= 0xC4CEB9FE1A85EC53;
            hash ^= hash >> 33;
            return hash;
        }
    }
}
