namespace Dataflow.Storage.Tests.S3;

/// <summary>How many part buffers an upload holds (<see cref="S3StoreOptions.MaxUploadMemory"/>), against the real server.</summary>
public sealed class S3UploadMemoryTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;
    private const int PartSize = 5 * MiB;

    [Fact]
    public async Task Write_MaxUploadMemoryOfTwoParts_HoldsTwoPartBuffersAndReusesThemForTheNextUpload()
    {
        // Eight upload slots, but memory for two parts: the parts are held until two are in flight, so the writer,
        // far faster than its uploads, has every chance to take a third buffer if the bound did not stop it.
        var recorder = new S3Recorder();
        var twoInFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        recorder.BeforeSend = async call =>
        {
            if (call.Operation == "UploadPart")
            {
                if (recorder.InFlight("UploadPart") >= 2)
                {
                    twoInFlight.TrySetResult();
                }

                await twoInFlight.Task.WaitAsync(S3Test.Hang);
            }
        };
        var setup = new S3Setup { PartSize = PartSize, MaxConcurrentParts = 8, MaxUploadMemory = 2 * PartSize, Recorder = recorder };
        var store = bucket.Open(setup, S3Bucket.NewPrefix("upload-memory"));
        await using var _ = store;
        var content = S3Test.Bytes((6 * PartSize) + 4_321, seed: 31);

        foreach (var key in new[] { "first.bin", "second.bin" })
        {
            var writer = await store.OpenWriteAsync(key);
            await using (writer)
            {
                await S3Test.WriteInChunksAsync(writer, content, [1_048_577]);
                await writer.CompleteAsync();
            }
        }

        Assert.Equal(14, recorder.Count("UploadPart"));
        Assert.Equal(2, recorder.Peak("UploadPart"));
        Assert.Equal(2, store.PartBuffers.Peak);
        Assert.Equal(0, store.PartBuffers.Rented);

        // The second upload wrote into the first one's buffers.
        Assert.Equal(2, store.PartBuffers.Allocated);
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "first.bin"));
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "second.bin"));
        await store.DeleteAsync(["first.bin", "second.bin"]);
    }

    [Fact]
    public async Task Write_SmallObjects_TakeNoPartBuffer()
    {
        var store = bucket.Open(new S3Setup { PartSize = PartSize }, S3Bucket.NewPrefix("upload-memory-small"));
        await using var _ = store;
        var content = S3Test.Bytes(300_000, seed: 32);

        var writer = await store.OpenWriteAsync("small.bin");
        await using (writer)
        {
            await S3Test.WriteInChunksAsync(writer, content, [65_536]);
            await writer.CompleteAsync();
        }

        Assert.Equal(0, store.PartBuffers.Peak);
        Assert.Equal(content, await S3Test.ReadAllAsync(store, "small.bin"));
        await store.DeleteAsync(["small.bin"]);
    }
}

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
