namespace Dataflow.Core.Tests.Objects;

public sealed class ObjectKeyTests
{
    public static TheoryData<string> ValidKeys => new()
    {
        "a",
        "a/b",
        "input/part-00001.txt",
        "a.b",
        "..a",
        "a..",
        "...",
        "a/.../b",
        ".hidden/.x",
        "a b/c d",
        "ab:c",
        "1:x",
        "_dataflow",
        "_dataflow/runs/r/plan.json",
        "ü/日本語",
        "emoji-😀/\U0010FFFF",
        "\uE000\uFFFD",
        new string('x', 1024),
        new string('é', 512), // 1024 UTF-8 bytes
        new string('x', 1020) + "😀", // 1024 UTF-8 bytes
    };

    [Theory]
    [MemberData(nameof(ValidKeys))]
    public void Validate_ValidKey_Accepted(string key)
    {
        var ex = Record.Exception(() => ObjectKey.Validate(key));

        Assert.Null(ex);
        Assert.True(ObjectKey.IsValid(key));
    }

    public static TheoryData<string, string> InvalidKeys => new()
    {
        { "", "it is empty" },
        { "/", "ends in '/'" },
        { "a/", "ends in '/'" },
        { "a/b/", "ends in '/'" },
        { "/abs", "it is absolute" },
        { "/a/b", "it is absolute" },
        { "..", "'..' segment" },
        { ".", "'.' segment" },
        { "../x", "'..' segment" },
        { "a/../b", "'..' segment" },
        { "a/..", "'..' segment" },
        { "./a", "'.' segment" },
        { "a/./b", "'.' segment" },
        { "a//b", "empty segment ('//')" },
        { "C:x", "drive letter" },
        { "c:/windows", "drive letter" },
        { "z:", "drive letter" },
        { "a\\b", "backslash" },
        { "\\\\server\\share", "backslash" },
        { "..\\x", "backslash" },
        { "a\0b", "NUL character" },
        { "\0", "NUL character" },
        { "a\u0001b", "control character U+0001" },
        { "a\nb", "control character U+000A" },
        { "tab\there", "control character U+0009" },
        { "a\u001Fb", "control character U+001F" },
        { "a\u007Fb", "control character U+007F" },
        { "a\u0085b", "control character U+0085" },
        { new string('x', 1025), "longer than 1024 UTF-8 bytes" },
        { new string('€', 342), "longer than 1024 UTF-8 bytes" }, // 342 characters, 1026 bytes
        { new string('x', 1021) + "😀", "longer than 1024 UTF-8 bytes" }, // 1025 bytes
    };

    [Theory]
    [MemberData(nameof(InvalidKeys))]
    public void Validate_InvalidKey_ThrowsNamingKeyAndProblem(string key, string problem)
    {
        var ex = Assert.Throws<InvalidObjectKeyException>(() => ObjectKey.Validate(key));

        Assert.Equal(key, ex.Key);
        Assert.StartsWith("invalid object key '", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.False(ObjectKey.IsValid(key));
    }

    // Not theory data: xunit's serialization of test cases turns lone surrogates into U+FFFD.
    private static readonly string[] s_loneSurrogates = ["\uD800", "\uDFFF", "a\uDC00b", "\uD83Dx", "x\uDE00\uD83D", "end\uD83D", "\uD83D\uD83D\uDE00"];

    [Fact]
    public void Validate_LoneSurrogate_ThrowsNamingTheProblem()
    {
        foreach (var key in s_loneSurrogates)
        {
            var ex = Assert.Throws<InvalidObjectKeyException>(() => ObjectKey.Validate(key));
            Assert.Equal(key, ex.Key);
            Assert.Contains("not well-formed UTF-16 (a lone surrogate)", ex.Message, StringComparison.Ordinal);
            Assert.False(ObjectKey.IsValid(key));
        }
    }

    [Fact]
    public void ValidatePrefix_LoneSurrogate_ThrowsNamingTheProblem()
    {
        foreach (var key in s_loneSurrogates)
        {
            var ex = Assert.Throws<InvalidObjectKeyException>(() => ObjectKey.ValidatePrefix(key + "/"));
            Assert.Contains("lone surrogate", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Validate_KeyWithNul_MessageShowsNulPrintably()
    {
        var ex = Assert.Throws<InvalidObjectKeyException>(() => ObjectKey.Validate("a\0b"));

        Assert.Contains("'a\\0b'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\0', ex.Message);
    }

    [Fact]
    public void Validate_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => ObjectKey.Validate(null!));
        Assert.Throws<ArgumentNullException>(() => ObjectKey.ValidatePrefix(null!));
    }

    public static TheoryData<string> ValidPrefixes => new()
    {
        "",
        "a",
        "a/",
        "a/b/",
        "input/part-",
        "_",
        "..a/",
        "日本/",
        new string('x', 1024) + "/",
    };

    [Theory]
    [MemberData(nameof(ValidPrefixes))]
    public void ValidatePrefix_ValidPrefix_Accepted(string prefix)
    {
        var ex = Record.Exception(() => ObjectKey.ValidatePrefix(prefix));

        Assert.Null(ex);
    }

    public static TheoryData<string, string> InvalidPrefixes => new()
    {
        { "/", "empty segment" },
        { "//", "it is absolute" },
        { "a//", "empty segment ('//')" },
        { "/abs/", "it is absolute" },
        { "../", "'..' segment" },
        { "a/../", "'..' segment" },
        { "./", "'.' segment" },
        { "a/./b/", "'.' segment" },
        { "C:/", "drive letter" },
        { "a\\", "backslash" },
        { "a\0/", "NUL character" },
        { "a\r/", "control character U+000D" },
        { new string('x', 1025) + "/", "longer than 1024 UTF-8 bytes" },
    };

    [Theory]
    [MemberData(nameof(InvalidPrefixes))]
    public void ValidatePrefix_InvalidPrefix_ThrowsNamingPrefixAndProblem(string prefix, string problem)
    {
        var ex = Assert.Throws<InvalidObjectKeyException>(() => ObjectKey.ValidatePrefix(prefix));

        Assert.Equal(prefix, ex.Key);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IsValid_EveryCharacterUpToU00A0_RefusesExactlyControlsAndBackslash()
    {
        for (var c = (char)0; c <= 0xA0; c++)
        {
            // Mid-key, so that ':' is not read as a drive letter ("a:b" is refused as one).
            var expected = !char.IsControl(c) && c != '\\';
            Assert.True(expected == ObjectKey.IsValid($"ab{c}c"), $"U+{(int)c:X4}: expected IsValid to be {expected}");
        }
    }
}
