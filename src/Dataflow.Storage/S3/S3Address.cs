using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>A parsed <c>s3://bucket/prefix</c> or <c>oss://bucket/prefix</c> address.</summary>
internal sealed record S3Address(string Scheme, string Bucket, string Prefix)
{
    public static bool IsS3Scheme(string scheme) => scheme is "s3" or "oss";

    /// <exception cref="ArgumentException">Not a valid address; the message says why.</exception>
    public static S3Address Parse(string location)
    {
        var schemeEnd = location.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd > 0 ? location[..schemeEnd].ToLowerInvariant() : string.Empty;
        if (!IsS3Scheme(scheme))
        {
            throw new ArgumentException($"store '{location}' is not an s3:// or oss:// address");
        }

        var rest = location[(schemeEnd + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? string.Empty : rest[(slash + 1)..];
        if (!IsValidBucket(bucket))
        {
            throw new ArgumentException($"store '{location}': '{bucket}' is not a valid bucket name (3 to 63 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)");
        }

        if (prefix.Length > 0 && !prefix.EndsWith('/'))
        {
            prefix += "/";
        }

        try
        {
            ObjectKey.ValidatePrefix(prefix);
        }
        catch (InvalidObjectKeyException ex)
        {
            throw new ArgumentException($"store '{location}': the prefix is not valid: {ex.Message}", ex);
        }

        return new S3Address(scheme, bucket, prefix);
    }

    /// <summary>The store's address, ending in '/'.</summary>
    public override string ToString() => $"{Scheme}://{Bucket}/{Prefix}";

    private static bool IsValidBucket(string bucket) =>
        bucket.Length is >= 3 and <= 63
        && char.IsAsciiLetterLower(bucket[0]) | char.IsAsciiDigit(bucket[0])
        && char.IsAsciiLetterLower(bucket[^1]) | char.IsAsciiDigit(bucket[^1])
        && bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
        && !bucket.Contains("..", StringComparison.Ordinal);
}
