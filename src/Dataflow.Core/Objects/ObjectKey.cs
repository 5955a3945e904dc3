namespace Dataflow.Core;

/// <summary>
/// The rules every object key follows, whatever the store: keys are relative, '/'-separated paths of non-empty
/// segments, without '.' or '..' segments, backslashes, NUL or other control characters, at most 1,024 UTF-8 bytes
/// (the S3 limit). Such a key can never escape a folder store's root.
/// </summary>
public static class ObjectKey
{
    /// <summary>The longest key S3 accepts, in UTF-8 bytes.</summary>
    public const int MaxUtf8Bytes = 1024;

    /// <summary>
    /// Everything Dataflow itself writes in a store lives under this prefix (runs' records and intermediate data,
    /// the stores' upload journals); jobs may not read or write there.
    /// </summary>
    public const string ReservedPrefix = "_dataflow/";

    /// <summary>True when <paramref name="key"/> lies under <see cref="ReservedPrefix"/>.</summary>
    public static bool IsReserved(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.StartsWith(ReservedPrefix, StringComparison.Ordinal);
    }

    /// <summary>Throws when <paramref name="key"/> is not a valid object key.</summary>
    /// <exception cref="InvalidObjectKeyException">The key breaks a rule; the message says which.</exception>
    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new InvalidObjectKeyException(key, "it is empty");
        }

        if (key.EndsWith('/'))
        {
            throw new InvalidObjectKeyException(key, "it ends in '/', which names a folder, not an object");
        }

        ValidatePath(key);
    }

    /// <summary>Throws when <paramref name="prefix"/> is not a valid listing prefix: empty, or a key's beginning (it may end in '/').</summary>
    /// <exception cref="InvalidObjectKeyException">The prefix breaks a rule.</exception>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0)
        {
            return;
        }

        ValidatePath(prefix.EndsWith('/') ? prefix[..^1] : prefix, prefix);
    }

    /// <summary>True when <paramref name="key"/> is a valid object key.</summary>
    public static bool IsValid(string key)
    {
        try
        {
            Validate(key);
            return true;
        }
        catch (InvalidObjectKeyException)
        {
            return false;
        }
    }

    private static void ValidatePath(string path, string? reported = null)
    {
        reported ??= path;
        if (path.Length == 0)
        {
            throw new InvalidObjectKeyException(reported, "it has an empty segment");
        }

        if (path[0] == '/')
        {
            throw new InvalidObjectKeyException(reported, "it is absolute (starts with '/'); keys are relative to the store");
        }

        if (path.Length >= 2 && path[1] == ':' && char.IsAsciiLetter(path[0]))
        {
            throw new InvalidObjectKeyException(reported, "it starts with a drive letter; keys are relative to the store");
        }

        foreach (var c in path)
        {
            if (c == '\\')
            {
                throw new InvalidObjectKeyException(reported, "it contains a backslash; use '/' between segments");
            }

            if (c == '\0')
            {
                throw new InvalidObjectKeyException(reported, "it contains a NUL character");
            }

            if (char.IsControl(c))
            {
                throw new InvalidObjectKeyException(reported, $"it contains the control character U+{(int)c:X4}");
            }

        }

        if (!IsWellFormed(path))
        {
            throw new InvalidObjectKeyException(reported, "it is not well-formed UTF-16 (a lone surrogate)");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxUtf8Bytes)
        {
            throw new InvalidObjectKeyException(reported, $"it is longer than {MaxUtf8Bytes} UTF-8 bytes");
        }

        foreach (var segment in path.Split('/'))
        {
            switch (segment)
            {
                case "":
                    throw new InvalidObjectKeyException(reported, "it has an empty segment ('//')");
                case ".":
                case "..":
                    throw new InvalidObjectKeyException(reported, $"it has a '{segment}' segment, which could escape the store's root");
            }
        }
    }

    private static bool IsWellFormed(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return false;
            }
        }

        return true;
    }
}
