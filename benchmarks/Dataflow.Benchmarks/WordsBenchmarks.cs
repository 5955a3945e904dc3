using System.Text;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Attributes;
using Dataflow.Examples.WordCount;

namespace Dataflow.Benchmarks;

/// <summary>
/// The word-count example's tokenizer (<see cref="Words"/>: runs of letters or digits, lower-cased, ASCII fast path)
/// against a source-generated regular expression <c>[\p{L}\p{Nd}]+</c> (the baseline) on the same 1 MiB of the
/// example's corpus, line by line as the mapper sees it. Both lower-case every word into a buffer and fold its
/// length and first character into a checksum; the setup checks that both find the same words. The third row is
/// <see cref="Words.Of"/>, one string per word, as the single-threaded LINQ count uses it.
/// </summary>
[MemoryDiagnoser]
public partial class WordsBenchmarks
{
    private string[] _lines = null!;
    private WordAction _onWord = null!;
    private long _checksum;

    /// <summary>Bytes of corpus text (UTF-8) per operation.</summary>
    [Params(1 << 20)]
    public int Bytes { get; set; }

    [GeneratedRegex(@"[\p{L}\p{Nd}]+", RegexOptions.CultureInvariant)]
    private static partial Regex WordPattern();

    [GlobalSetup]
    public async Task Setup()
    {
        var folder = Path.Combine(Path.GetTempPath(), "dataflow-bench-words-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var store = ObjectStore.OpenFolder(folder))
            {
                await CorpusGenerator.WriteAsync(store, "text/", Bytes, 1, 0, 42, 1, CancellationToken.None);
                var text = Encoding.UTF8.GetString(await store.ReadAllBytesAsync(CorpusGenerator.KeyOf("text/", 0, 1)));
                _lines = text.Split('\n');
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        _onWord = word => _checksum += word.Length + word[0];

        // The two tokenizers must agree on this text, or the comparison means nothing.
        var expected = _lines.SelectMany(Words.Of).ToList();
        var actual = _lines.SelectMany(l => WordPattern().Matches(l).Select(m => m.Value.ToLowerInvariant())).ToList();
        if (!expected.SequenceEqual(actual, StringComparer.Ordinal))
        {
            throw new InvalidOperationException($"the tokenizers disagree: Words finds {expected.Count} words, the regex {actual.Count}");
        }

        if (RegexTokenizer() != WordsSplit())
        {
            throw new InvalidOperationException("the checksums differ");
        }
    }

    [Benchmark(Baseline = true, Description = @"Regex [\p{L}\p{Nd}]+ (source-generated), lower-cased")]
    public long RegexTokenizer()
    {
        Span<char> lower = stackalloc char[256];
        var regex = WordPattern();
        long checksum = 0;
        foreach (var line in _lines)
        {
            foreach (var match in regex.EnumerateMatches(line))
            {
                var word = line.AsSpan(match.Index, match.Length);
                var buffer = word.Length <= lower.Length ? lower : new char[word.Length];
                var n = word.ToLowerInvariant(buffer);
                checksum += n + buffer[0];
            }
        }

        return checksum;
    }

    [Benchmark(Description = "Words.Split (the mapper's tokenizer)")]
    public long WordsSplit()
    {
        _checksum = 0;
        foreach (var line in _lines)
        {
            Words.Split(line, _onWord);
        }

        return _checksum;
    }

    [Benchmark(Description = "Words.Of (a string per word, as the LINQ count)")]
    public long WordsOf()
    {
        long checksum = 0;
        foreach (var line in _lines)
        {
            foreach (var word in Words.Of(line))
            {
                checksum += word.Length + word[0];
            }
        }

        return checksum;
    }
}
