namespace Dataflow.Core.Tests.Records;

public sealed class TextKeyTableTests
{
    [Fact]
    public void GetValueRefOrAddDefault_ManyKeysThroughGrowth_KeepsEveryValue()
    {
        var table = new TextKeyTable<long>();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 5000; i++)
            {
                ref var value = ref table.GetValueRefOrAddDefault($"w{i}".AsSpan(), out var exists);
                Assert.Equal(round > 0, exists);
                value += i;
            }
        }

        Assert.Equal(5000, table.Count);
        var entries = table.Entries().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        Assert.Equal(5000, entries.Count);
        Assert.All(Enumerable.Range(0, 5000), i => Assert.Equal(3L * i, entries[$"w{i}"]));
    }

    [Fact]
    public void Clear_AfterKeys_StartsEmpty()
    {
        var table = new TextKeyTable<long>();
        table.GetValueRefOrAddDefault("a".AsSpan(), out _) = 1;
        table.GetValueRefOrAddDefault("é数".AsSpan(), out _) = 2;

        table.Clear();
        ref var again = ref table.GetValueRefOrAddDefault("a".AsSpan(), out var exists);

        Assert.False(exists);
        Assert.Equal(0, again);
        Assert.Equal(1, table.Count);
        Assert.Single(table.Entries());
    }
}
