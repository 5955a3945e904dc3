using System.Text;

namespace Dataflow.Storage.Tests;

public sealed class KeyComparerTests
{
    private const int Seed = 20260101;

    [Fact]
    public void Compare_RandomStrings_AgreesWithUtf8ByteOrder()
    {
        var random = new Random(Seed);
        for (var i = 0; i < 20_000; i++)
        {
            var (x, y) = RandomPair(random);

            var expected = Math.Sign(Utf8(x).AsSpan().SequenceCompareTo(Utf8(y)));
            var actual = Math.Sign(KeyComparer.Instance.Compare(x, y));

            Assert.True(expected == actual, $"pair {i}: Compare({Describe(x)}, {Describe(y)}) has sign {actual}, UTF-8 bytes give {expected}");
            Assert.True(-actual == Math.Sign(KeyComparer.Instance.Compare(y, x)), $"pair {i}: Compare is not antisymmetric for {Describe(x)}, {Describe(y)}");
        }
    }

    [Fact]
    public void Sort_RandomStrings_OrdersAsUtf8Bytes()
    {
        var random = new Random(Seed + 1);
        var keys = Enumerable.Range(0, 3000).Select(_ => RandomString(random, random.Next(0, 6))).ToArray();

        var byComparer = keys.Order(KeyComparer.Instance).ToArray();
        var byBytes = keys.Select(k => (Key: k, Bytes: Utf8(k))).ToArray();
        Array.Sort(byBytes, (a, b) => a.Bytes.AsSpan().SequenceCompareTo(b.Bytes));

        Assert.Equal(byBytes.Select(k => k.Key), byComparer);
    }

    [Fact]
    public void Compare_EqualContent_ReturnsZero()
    {
        var random = new Random(Seed + 2);
        for (var i = 0; i < 1000; i++)
        {
            var x = RandomString(random, random.Next(0, 10));
            var copy = new string(x.AsSpan());

            Assert.True(KeyComparer.Instance.Compare(x, copy) == 0, $"{Describe(x)} does not equal its copy");
        }
    }

    [Theory]
    [InlineData("\uFF61", "\U0001F600")] // U+FF61 < U+1F600, but UTF-16 unit 0xFF61 > 0xD83D
    [InlineData("\uE000", "\U00010000")]
    [InlineData("\uFFFF", "\U0010FFFF")]
    [InlineData("a\uFFFDz", "a\U00020000")]
    public void Compare_BmpAboveSurrogatesVersusSupplementary_DiffersFromCompareOrdinal(string bmp, string supplementary)
    {
        Assert.True(string.CompareOrdinal(bmp, supplementary) > 0, "precondition: ordinal UTF-16 order puts the supplementary character first");
        Assert.True(Utf8(bmp).AsSpan().SequenceCompareTo(Utf8(supplementary)) < 0, "precondition: UTF-8 bytes put the BMP character first");

        Assert.True(KeyComparer.Instance.Compare(bmp, supplementary) < 0);
        Assert.True(KeyComparer.Instance.Compare(supplementary, bmp) > 0);
    }

    [Theory]
    [InlineData("a", "b")]
    [InlineData("a", "ab")]
    [InlineData("", "a")]
    [InlineData("A", "a")]
    [InlineData("Z", "a")]
    [InlineData("a/b", "a0")]
    [InlineData("\u00E9", "\uD7FF")]
    [InlineData("\U00010000", "\U00010001")]
    [InlineData("\U0001F600", "\U0001F600a")]
    public void Compare_OrderedPair_FirstIsSmaller(string smaller, string larger)
    {
        Assert.True(KeyComparer.Instance.Compare(smaller, larger) < 0);
        Assert.True(KeyComparer.Instance.Compare(larger, smaller) > 0);
    }

    [Fact]
    public void Compare_Nulls_NullSortsFirst()
    {
        Assert.Equal(0, KeyComparer.Instance.Compare(null, null));
        Assert.True(KeyComparer.Instance.Compare(null, "") < 0);
        Assert.True(KeyComparer.Instance.Compare("", null) > 0);
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static (string X, string Y) RandomPair(Random random)
    {
        // Shared prefixes make the first difference land anywhere, including right after a surrogate pair.
        var prefix = random.Next(3) == 0 ? string.Empty : RandomString(random, random.Next(0, 4));
        return (prefix + RandomString(random, random.Next(0, 4)), prefix + RandomString(random, random.Next(0, 4)));
    }

    // Well-formed strings only: a lone surrogate has no UTF-8 encoding (and is not a valid key).
    private static string RandomString(Random random, int codePoints)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < codePoints; i++)
        {
            var codePoint = random.Next(6) switch
            {
                0 => random.Next(0x20, 0x7F), // ASCII
                1 => random.Next(0x61, 0x64), // a few ASCII letters, so that equal characters are common
                2 => random.Next(0x80, 0xD800), // BMP below the surrogates
                3 => random.Next(0xE000, 0x10000), // BMP above the surrogates
                4 => random.Next(0xFFF0, 0x10000), // the top of the BMP, just below the supplementary planes
                _ => random.Next(2) == 0 ? random.Next(0x10000, 0x10010) : random.Next(0x10000, 0x110000), // surrogate pairs
            };
            builder.Append(char.ConvertFromUtf32(codePoint));
        }

        return builder.ToString();
    }

    private static string Describe(string s) => "\"" + string.Concat(s.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:X4}")) + "\"";
}
