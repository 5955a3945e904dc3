using System.IO.Hashing;

namespace Dataflow.Worker.Tests.Commits;

public sealed class VerifyingReadStreamTests
{
    private static string ChecksumOf(byte[] bytes)
    {
        var hash = new XxHash3();
        hash.Append(bytes);
        return Checksums.Format(hash);
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Read_MatchingLengthAndChecksum_DeliversTheBytesAndCountsThem()
    {
        var bytes = "hello world"u8.ToArray();
        var counters = new RunCounters("test");
        await using var stream = new VerifyingReadStream(new MemoryStream(bytes), "'x'", bytes.Length, ChecksumOf(bytes), counters);

        Assert.Equal(bytes, await ReadAllAsync(stream));
        Assert.Equal(bytes.Length, counters.BytesRead);
    }

    [Fact]
    public async Task Read_ShorterThanRecorded_ThrowsNamingTheInput()
    {
        await using var stream = new VerifyingReadStream(new MemoryStream(new byte[3]), "'in/a.txt'", 4, null, new RunCounters("test"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(stream));

        Assert.Contains("'in/a.txt'", error.Message, StringComparison.Ordinal);
        Assert.Contains("3 of the 4 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_LongerThanRecorded_Throws()
    {
        await using var stream = new VerifyingReadStream(new MemoryStream(new byte[5]), "'in/a.txt'", 4, null, new RunCounters("test"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(stream));

        Assert.Contains("longer than the 4 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_CorruptedBytes_ChecksumMismatchThrows()
    {
        var bytes = "hello world"u8.ToArray();
        var checksum = ChecksumOf(bytes);
        bytes[3] ^= 1;
        await using var stream = new VerifyingReadStream(new MemoryStream(bytes), "1/0:out", bytes.Length, checksum, new RunCounters("test"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(stream));

        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
        Assert.Contains("1/0:out", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobInput_ChangedSizeSincePlanning_ReadFailsNamingTheKey()
    {
        using var folder = new TempFolder();
        var store = ObjectStore.OpenFolder(folder.Path);
        await store.PutAsync("input/a.txt", "AB"u8.ToArray());
        var input = StoreInput.ForJobInput(store, new RunCounters("test"), new PlanInput("input/a.txt", 1));

        await using var stream = await input.OpenReadAsync();
        var error = await Assert.ThrowsAsync<InputLostException>(() => ReadAllAsync(stream));
        Assert.Equal("input/a.txt", error.ObjectKey);

        Assert.Contains("input/a.txt", error.Message, StringComparison.Ordinal);
    }
}
