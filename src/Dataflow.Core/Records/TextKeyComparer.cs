using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Dataflow.Core;

/// <summary>
/// Ordinal equality of string keys, also for <see cref="ReadOnlySpan{T}"/> lookups (so that a map task can find a
/// word without making a string of it), hashed with XXH3 — several times faster than the default randomized hash
/// on short keys. The seed is random per process, so crafted keys cannot be made to collide.
/// </summary>
internal sealed class TextKeyComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
{
    private static readonly long s_seed = Random.Shared.NextInt64();

    public static TextKeyComparer Instance { get; } = new();

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string obj) => Hash(obj);

    public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<char> alternate) => Hash(alternate);

    public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();

    private static int Hash(ReadOnlySpan<char> text) => (int)XxHash3.HashToUInt64(MemoryMarshal.AsBytes(text), s_seed);
}
