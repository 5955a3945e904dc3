namespace Dataflow;

/// <summary>Rules for the names of jobs, operators and stages. A shared source file (docs/architecture.md).</summary>
internal static class Names
{
    /// <summary>Longest accepted name; names end up in object keys and (later) in Kubernetes object names.</summary>
    public const int MaxLength = 63;

    /// <summary>True when <paramref name="name"/> is 1–63 characters of ASCII letters, digits, '-', '_' and '.', starting with a letter or digit.</summary>
    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_' && c != '.')
            {
                return false;
            }
        }

        return true;
    }

    public const string Rule = "1 to 63 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit";
}
