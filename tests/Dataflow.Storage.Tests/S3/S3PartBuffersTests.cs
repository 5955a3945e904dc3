namespace Dataflow.Storage.Tests.S3;

/// <summary>The part buffers one upload may hold, from the options (no server).</summary>
public sealed class S3PartBuffersTests
{
    private const long MiB = 1 << 20;

    [Theory]
    [InlineData(16, 48, 8, 3)]
    [InlineData(16, 50, 8, 3)]
    [InlineData(16, 20, 8, 2)] // never fewer than two: one part sent while the next is written
    [InlineData(64, 48, 8, 2)]
    [InlineData(5, 1024, 8, 9)] // never more than the upload slots and the part being written
    [InlineData(5, 48, 2, 3)]
    [InlineData(5, 48, 1, 2)]
    public void PerUpload_IsTheMemoryInPartsWithinTwoAndOneMoreThanTheSlots(long partMiB, long memoryMiB, int slots, int expected)
    {
        var options = new S3StoreOptions { PartSize = partMiB * MiB, MaxUploadMemory = memoryMiB * MiB, MaxConcurrentParts = slots };

        Assert.Equal(expected, S3PartBuffers.PerUpload(options));
    }

    [Fact]
    public void Validate_UploadMemoryUnderTheMinimumPartSize_Throws()
    {
        var options = new S3StoreOptions { MaxUploadMemory = S3StoreOptions.MinPartSize - 1 };

        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(nameof(S3StoreOptions.MaxUploadMemory), error.ParamName);
    }

    [Fact]
    public void RentAndReturn_PartBuffers_KeepOneUploadsShareAndCountWhatIsOut()
    {
        var buffers = new S3PartBuffers(new S3StoreOptions { PartSize = 5 * MiB, MaxUploadMemory = 10 * MiB });

        var rented = Enumerable.Range(0, 3).Select(_ => buffers.Rent((int)(5 * MiB))).ToList();
        Assert.Equal(3, buffers.Rented);
        rented.ForEach(buffers.Return);
        var again = Enumerable.Range(0, 3).Select(_ => buffers.Rent((int)(5 * MiB))).ToList();

        // Two were kept (one upload's share), the third was dropped and is allocated anew.
        Assert.Equal(4, buffers.Allocated);
        Assert.Equal(3, buffers.Peak);
        Assert.Equal(2, again.Count(b => rented.Contains(b)));
        again.ForEach(buffers.Return);
        Assert.Equal(0, buffers.Rented);
    }
}
