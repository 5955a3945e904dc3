using System.Text;

namespace Dataflow.Core.Tests.Records;

public sealed class HashPartitionerTests
{
    private static readonly HashPartitioner<string> s_partitioner = new();

    private static int Partition(string key, int partitions) => s_partitioner.Partition(key, Encoding.UTF8.GetBytes(key), partitions);

    /// <summary>
    /// XXH64 (seed 0) of the keys' UTF-8 bytes, computed once with an independent implementation of the xxHash
    /// specification (github.com/Cyan4973/xxHash, doc/xxhash_spec.md), and the partitions they give. Pinned, so that a
    /// change of hash (or of its input bytes) that would send keys to other reducers in a mixed-version run fails here.
    /// </summary>
    public static TheoryData<string, ulong, int, int> Pinned => new()
    {
        { "", 0xEF46DB3751D8E999, 6, 921 },
        { "a", 0xD24EC4F1A98C6E5B, 6, 955 },
        { "abc", 0x44BC2CF5AD770999, 0, 249 },
        { "hello", 0x26C7827D889F6DA3, 1, 659 },
        { "the", 0x4B1B03A21F8B5F26, 0, 750 },
        { "straße", 0x5A34B57B727837BE, 0, 430 },
        { "日本語", 0x7179A19F3719F5E1, 6, 369 },
        { "a longer key that is more than thirty-two bytes long", 0xEEF41A941EAC5722, 6, 794 },
    };

    [Theory]
    [MemberData(nameof(Pinned))]
    public void Partition_PinnedKeys_IsXxHash64OfUtf8ModuloPartitions(string key, ulong xxh64, int of7, int of1000)
    {
        Assert.Equal(xxh64, System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(key)));
        Assert.Equal(of7, Partition(key, 7));
        Assert.Equal(of1000, Partition(key, 1000));
        Assert.Equal((int)(xxh64 % 64), Partition(key, 64));
        Assert.Equal(0, Partition(key, 1));
    }

    [Fact]
    public void Partition_ManyKeysAndCounts_InRangeAndDeterministic()
    {
        var random = new Random(7);
        var other = new HashPartitioner<string>();
        foreach (var partitions in new[] { 1, 2, 3, 7, 16, 1000, 100_000, int.MaxValue })
        {
            for (var i = 0; i < 2000; i++)
            {
                var key = RandomKey(random);
                var bytes = Encoding.UTF8.GetBytes(key);

                var p = s_partitioner.Partition(key, bytes, partitions);

                Assert.InRange(p, 0, partitions - 1);
                Assert.Equal(p, s_partitioner.Partition(key, bytes, partitions));
                Assert.Equal(p, other.Partition(key, bytes, partitions));
            }
        }
    }

    [Fact]
    public void Partition_DependsOnlyOnEncodedBytes_NotOnTheKeyObject()
    {
        var bytes = Encoding.UTF8.GetBytes("shared");

        // The key itself is ignored: the bytes decide (so every process, whatever its string hashing, agrees).
        Assert.Equal(Partition("shared", 1000), new HashPartitioner<string>().Partition("something else", bytes, 1000));
        Assert.Equal(Partition("shared", 1000), new HashPartitioner<long>().Partition(42, bytes, 1000));
    }

    [Fact]
    public void Partition_ManyKeys_SpreadOverAllPartitions()
    {
        const int Partitions = 16;
        var counts = new int[Partitions];
        for (var i = 0; i < 16_000; i++)
        {
            counts[Partition("word" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), Partitions)]++;
        }

        // 1000 expected per partition; a hash that ignored most of the key would leave some nearly empty.
        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
    }

    private static string RandomKey(Random random)
    {
        var chars = new char[random.Next(0, 40)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = random.Next(4) == 0 ? (char)random.Next(0xA0, 0xD7FF) : (char)random.Next('a', 'z' + 1);
        }

        return new string(chars);
    }
}
