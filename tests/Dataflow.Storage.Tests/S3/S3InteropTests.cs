namespace Dataflow.Storage.Tests.S3;

/// <summary>Objects written by Dataflow read by another S3 client (s3cmd), and the other way round.</summary>
public sealed class S3InteropTests(S3Bucket bucket) : IClassFixture<S3Bucket>, IDisposable
{
    private const int MiB = 1 << 20;
    private readonly string _folder = Directory.CreateTempSubdirectory("dataflow-s3-interop-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task S3cmdGet_ObjectsWrittenByDataflow_AreEqual()
    {
        var prefix = S3Bucket.NewPrefix("to-s3cmd");
        var store = bucket.Open(new S3Setup { PartSize = 5 * MiB }, prefix);
        await using var _ = store;
        var multipart = S3Test.Bytes((11 * MiB) + 3, seed: 81);
        var small = S3Test.Bytes(4_321, seed: 82);
        var info = await store.PutAsync("multipart.bin", multipart);
        await store.PutAsync("dir/small.bin", small);
        Assert.EndsWith("-3", S3Test.Unquote(info.ETag), StringComparison.Ordinal);

        var multipartFile = Path.Combine(_folder, "multipart.bin");
        var smallFile = Path.Combine(_folder, "small.bin");
        await S3Cmd.RunAsync("get", $"s3://{bucket.Name}/{prefix}multipart.bin", multipartFile);
        await S3Cmd.RunAsync("get", $"s3://{bucket.Name}/{prefix}dir/small.bin", smallFile);

        Assert.Equal(multipart, await File.ReadAllBytesAsync(multipartFile));
        Assert.Equal(small, await File.ReadAllBytesAsync(smallFile));
        await store.DeleteAsync(["multipart.bin", "dir/small.bin"]);
    }

    [Fact]
    public async Task OpenRead_ObjectsPutByS3cmd_AreEqual()
    {
        var prefix = S3Bucket.NewPrefix("from-s3cmd");
        var large = S3Test.Bytes((17 * MiB) + 9, seed: 83); // over s3cmd's 15 MiB chunks: a multipart upload of 2 parts
        var small = S3Test.Bytes(999, seed: 84);
        await File.WriteAllBytesAsync(Path.Combine(_folder, "large.bin"), large);
        await File.WriteAllBytesAsync(Path.Combine(_folder, "small.bin"), small);
        await S3Cmd.RunAsync("put", Path.Combine(_folder, "large.bin"), $"s3://{bucket.Name}/{prefix}large.bin");
        await S3Cmd.RunAsync("put", Path.Combine(_folder, "small.bin"), $"s3://{bucket.Name}/{prefix}sub/small.bin");

        // Reads over the parallel threshold too, so both read paths see s3cmd's objects.
        var store = bucket.Open(new S3Setup { ParallelReadThreshold = 4 * MiB, ReadChunkSize = MiB }, prefix);
        await using var _ = store;

        Assert.EndsWith("-2", S3Test.Unquote((await store.HeadAsync("large.bin"))!.ETag), StringComparison.Ordinal);
        Assert.Equal(large, await S3Test.ReadAllAsync(store, "large.bin"));
        Assert.Equal(large.AsSpan(MiB + 1, 2 * MiB).ToArray(), await S3Test.ReadAllAsync(store, "large.bin", MiB + 1, 2 * MiB));
        Assert.Equal(small, await S3Test.ReadAllAsync(store, "sub/small.bin"));
        Assert.Equal(["large.bin", "sub/small.bin"], (await store.ListAllAsync("")).Select(i => i.Key));
        await store.DeleteAsync(["large.bin", "sub/small.bin"]);
    }
}
