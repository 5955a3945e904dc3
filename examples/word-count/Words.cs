using System.Buffers;
using System.Text;

namespace Dataflow.Examples.WordCount;

/// <summary>
/// What a word is: a maximal run of Unicode letters or digits, judged per <see cref="Rune"/>, lower-cased with the
/// invariant culture. One definition for the job's mapper and for the single-threaded count it is checked against.
/// </summary>
public static class Words
{
    /// <summary>Calls <paramref name="onWord"/> with each word of <paramref name="text"/>, lower-cased.</summary>
    public static void Split(ReadOnlySpan<char> text, WordAction onWord)
    {
        ArgumentNullException.ThrowIfNull(onWord);
        var sink = new ActionSink(onWord);
        Split(text, ref sink);
    }

    /// <summary>
    /// Gives <paramref name="sink"/> each word of <paramref name="text"/>, lower-cased: a struct, so that the call is
    /// made directly (and inlined) rather than through a delegate, and nothing is allocated per line.
    /// </summary>
    public static void Split<TSink>(ReadOnlySpan<char> text, ref TSink sink)
        where TSink : struct, IWordSink
    {
        char[]? rented = null;
        Span<char> word = stackalloc char[128];
        var length = 0;
        try
        {
            while (!text.IsEmpty)
            {
                var c = text[0];
                if (c < 0x80)
                {
                    // ASCII, most of most text: the same rule without decoding runes.
                    text = text[1..];
                    if (char.IsAsciiLetterOrDigit(c))
                    {
                        if (length + 1 > word.Length)
                        {
                            Grow(ref word, ref rented, length);
                        }

                        word[length++] = char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;
                    }
                    else if (length > 0)
                    {
                        sink.OnWord(word[..length]);
                        length = 0;
                    }

                    continue;
                }

                Rune.DecodeFromUtf16(text, out var rune, out var consumed);
                text = text[consumed..];
                if (Rune.IsLetterOrDigit(rune))
                {
                    if (length + 2 > word.Length)
                    {
                        Grow(ref word, ref rented, length);
                    }

                    length += Rune.ToLowerInvariant(rune).EncodeToUtf16(word[length..]);
                }
                else if (length > 0)
                {
                    sink.OnWord(word[..length]);
                    length = 0;
                }
            }

            if (length > 0)
            {
                sink.OnWord(word[..length]);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static void Grow(ref Span<char> word, ref char[]? rented, int length)
    {
        var larger = ArrayPool<char>.Shared.Rent(word.Length * 2);
        word[..length].CopyTo(larger);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        rented = larger;
        word = larger;
    }

    /// <summary>The words of <paramref name="line"/> as strings (for the straightforward count).</summary>
    public static IEnumerable<string> Of(string line)
    {
        var words = new List<string>();
        Split(line, word => words.Add(word.ToString()));
        return words;
    }
}

/// <summary>Receives one word.</summary>
public delegate void WordAction(ReadOnlySpan<char> word);

/// <summary>Receives the words of <see cref="Words.Split{TSink}"/>.</summary>
#pragma warning disable CA1711 // "Sink" is what it is.
public interface IWordSink
#pragma warning restore CA1711
{
    /// <summary>Receives one word (valid only during the call).</summary>
    void OnWord(ReadOnlySpan<char> word);
}

/// <summary>A <see cref="WordAction"/> as a sink.</summary>
internal readonly struct ActionSink(WordAction onWord) : IWordSink
{
    public void OnWord(ReadOnlySpan<char> word) => onWord(word);
}
