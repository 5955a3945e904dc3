using System.IO.Hashing;

namespace Dataflow.Core;

/// <summary>Decides which reducer a key goes to. It must give the same answer in every process and on every machine.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
public interface IPartitioner<in TKey>
{
    /// <summary>The partition, from 0 to <paramref name="partitions"/> − 1, of <paramref name="key"/> (whose encoded bytes are <paramref name="encodedKey"/>).</summary>
    int Partition(TKey key, ReadOnlySpan<byte> encodedKey, int partitions);
}

/// <summary>
/// The default partitioner: XXH64 of the key's encoded bytes, modulo the partition count. Stable across processes and
/// machines — unlike <see cref="string.GetHashCode()"/>, which .NET randomizes per process.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
public sealed class HashPartitioner<TKey> : IPartitioner<TKey>
{
    /// <inheritdoc />
    public int Partition(TKey key, ReadOnlySpan<byte> encodedKey, int partitions) =>
        (int)(XxHash64.HashToUInt64(encodedKey) % (ulong)partitions);
}
