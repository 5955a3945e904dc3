namespace Dataflow.Storage;

/// <summary>
/// Orders keys as S3 lists them: by their UTF-8 bytes, which is Unicode code point order. Plain ordinal string
/// comparison differs for characters above U+FFFF (surrogate pairs sort below U+E000–U+FFFF in UTF-16).
/// </summary>
internal sealed class KeyComparer : IComparer<string>
{
    private KeyComparer()
    {
    }

    /// <summary>The single instance.</summary>
    public static KeyComparer Instance { get; } = new();

    /// <inheritdoc />
    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        var length = Math.Min(x.Length, y.Length);
        for (var i = 0; i < length; i++)
        {
            var a = x[i];
            var b = y[i];
            if (a != b)
            {
                return Fix(a) - Fix(b);
            }
        }

        return x.Length - y.Length;
    }

    // Moves surrogates (U+D800–U+DFFF) above U+E000–U+FFFF so that UTF-16 units compare in code point order.
    private static int Fix(char c) => c >= 0xD800 ? (c >= 0xE000 ? c - 0x800 : c + 0x2000) : c;
}
