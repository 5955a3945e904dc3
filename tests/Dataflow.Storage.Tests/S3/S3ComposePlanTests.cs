namespace Dataflow.Storage.Tests.S3;

/// <summary>The compose plan over many random lists of ranges, with small part limits (no server needed).</summary>
public sealed class S3ComposePlanTests
{
    private const long MinPart = 10;
    private const long MaxPart = 25;

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 8)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Create_RandomRanges_PartsConcatenateToTheRangesAndRespectTheLimits(int seed)
    {
        var random = new Random(seed);
        for (var round = 0; round < 500; round++)
        {
            // Lengths around the limits: empty, small (< min), between min and max, above max and 2 × max.
            var segments = Enumerable.Range(0, random.Next(0, 14))
                .Select(i => new ObjectSegment($"k{i}", random.Next(0, 5), random.Next(4) switch
                {
                    0 => random.Next(0, 3),
                    1 => random.Next(1, (int)MinPart),
                    2 => random.Next((int)MinPart, (int)MaxPart + 1),
                    _ => random.Next((int)MaxPart, (int)(3 * MaxPart)),
                }))
                .ToList();
            var target = random.Next(1, 40);
            var parts = S3ComposePlan.Create(segments, MinPart, MaxPart, target);
            var context = $"seed {seed} round {round}: [{string.Join(", ", segments)}] target {target} -> [{string.Join(" | ", parts.Select(Describe))}]";

            Assert.True(Bytes(segments).SequenceEqual(Bytes(parts.SelectMany(Ranges))), "the parts do not concatenate to the ranges: " + context);
            for (var i = 0; i < parts.Count; i++)
            {
                var part = parts[i];
                Assert.True(part.Length > 0, "empty part: " + context);
                Assert.True(i == parts.Count - 1 || part.Length >= MinPart, $"part {i + 1} is under the minimum: " + context);
                if (part.IsCopy)
                {
                    Assert.Empty(part.Pieces);
                    Assert.True(part.Length <= MaxPart, $"copy part {i + 1} is over the maximum: " + context);
                }
                else
                {
                    Assert.NotEmpty(part.Pieces);
                    Assert.All(part.Pieces, p => Assert.True(p.Length > 0, "empty piece: " + context));
                    Assert.True(part.Length < Math.Clamp(target, MinPart, MaxPart) + MinPart, $"upload part {i + 1} is too large: " + context);
                }
            }

            // Server-side copies where it matters: of a range of two minimum parts or more, less than one minimum
            // part goes through the client.
            foreach (var segment in segments.Where(s => s.Length >= 2 * MinPart))
            {
                var uploaded = parts.Where(p => !p.IsCopy).SelectMany(p => p.Pieces).Where(p => p.Key == segment.Key).Sum(p => p.Length);
                Assert.True(uploaded < MinPart, $"{uploaded} bytes of {segment} are uploaded: " + context);
            }
        }
    }

    [Fact]
    public void Create_NoRangesOrOnlyEmptyOnes_HasNoParts()
    {
        Assert.Empty(S3ComposePlan.Create([], MinPart, MaxPart, MinPart));
        Assert.Empty(S3ComposePlan.Create([new ObjectSegment("a", 3, 0), new ObjectSegment("b", 0, 0)], MinPart, MaxPart, MinPart));
    }

    [Fact]
    public void Create_RangeOfExactlyTwiceTheMaximum_IsTwoCopiesOfTheMaximum()
    {
        var parts = S3ComposePlan.Create([new ObjectSegment("a", 7, 2 * MaxPart)], MinPart, MaxPart, MinPart);

        Assert.Equal([new ObjectSegment("a", 7, MaxPart), new ObjectSegment("a", 7 + MaxPart, MaxPart)], parts.Select(p => p.Copy!.Value));
    }

    [Theory]
    [InlineData(MinPart, MaxPart)]
    [InlineData(S3StoreOptions.MinPartSize, S3StoreOptions.MaxPartSize)]
    public void Create_RangeJustUnderThreeTimesTheMaximum_NoCopyPartOverTheMaximum(long minPart, long maxPart)
    {
        // Regression: the last copy took the whole remainder of the split, so 3 × max - 1 bytes became copies of
        // max - 1, max - 1 and max + 1 bytes: over S3's 5 GiB for a range of 15 GiB - 1 (e.g. a move).
        var length = (3 * maxPart) - 1;
        var parts = S3ComposePlan.Create([new ObjectSegment("big", 5, length)], minPart, maxPart, minPart);

        Assert.Equal(3, parts.Count);
        Assert.All(parts, p => Assert.InRange(p.Copy!.Value.Length, maxPart - 1, maxPart));
        Assert.Equal(length, parts.Sum(p => p.Length));
        Assert.Equal(5 + length, parts[^1].Copy!.Value.Offset + parts[^1].Copy!.Value.Length);
    }

    [Fact]
    public void Create_MaximumUnderTwiceTheMinimum_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => S3ComposePlan.Create([new ObjectSegment("a", 0, 100)], MinPart, (2 * MinPart) - 1, MinPart));

    private static IEnumerable<ObjectSegment> Ranges(S3ComposePlan.Part part) => part.Copy is { } copy ? [copy] : part.Pieces;

    // Every byte of the ranges, as (key, position), in order.
    private static IEnumerable<(string Key, long Position)> Bytes(IEnumerable<ObjectSegment> ranges) =>
        ranges.SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => (r.Key, r.Offset + i)));

    private static string Describe(S3ComposePlan.Part part) =>
        part.Copy is { } copy ? $"copy {copy}" : $"upload {string.Join(" + ", part.Pieces)}";
}
