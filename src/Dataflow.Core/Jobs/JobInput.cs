namespace Dataflow.Core;

/// <summary>Where a job's input objects come from: every object under a key prefix, or an explicit list of keys.</summary>
public sealed class JobInput
{
    private JobInput(string? prefix, IReadOnlyList<string>? keys)
    {
        Prefix = prefix;
        Keys = keys;
    }

    /// <summary>The key prefix listed at run time, or <see langword="null"/> when <see cref="Keys"/> is set.</summary>
    public string? Prefix { get; }

    /// <summary>The explicit keys, in the order given, or <see langword="null"/> when <see cref="Prefix"/> is set.</summary>
    public IReadOnlyList<string>? Keys { get; }

    /// <summary>Every object whose key starts with <paramref name="prefix"/>, in key order (ordinal UTF-8 bytes, as S3 lists).</summary>
    public static JobInput FromPrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return new JobInput(prefix, null);
    }

    /// <summary>Exactly these objects, in this order.</summary>
    public static JobInput FromKeys(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return new JobInput(null, keys.ToArray());
    }

    /// <inheritdoc />
    public override string ToString() => Prefix is not null ? $"prefix '{Prefix}'" : $"{Keys!.Count} listed keys";
}
