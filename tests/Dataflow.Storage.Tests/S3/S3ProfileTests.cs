using System.Net;

namespace Dataflow.Storage.Tests.S3;

/// <summary>Compatibility profiles against the real server: addressing styles, server-side encryption headers.</summary>
public sealed class S3ProfileTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;

    [Fact]
    public async Task Oss_VirtualHostedOnTheStorageDomain_RoundTripsObjects()
    {
        var recorder = new S3Recorder();
        var prefix = S3Bucket.NewPrefix("oss");
        var options = new S3Setup { Profile = S3Compatibility.Oss, VirtualHosted = true, Recorder = recorder }.ToOptions();
        var store = (S3ObjectStore)await ObjectStore.OpenAsync($"oss://{bucket.Name}/{prefix}", new ObjectStoreOptions { S3 = options });
        await using var _ = store;
        var small = S3Test.Bytes(1_234, seed: 71);
        var large = S3Test.Bytes((6 * MiB) + 5, seed: 72);

        await store.PutAsync("small.bin", small);
        await store.PutAsync("large.bin", large);
        Assert.Equal(small, await store.ReadAllBytesAsync("small.bin"));
        Assert.Equal(large, await store.ReadAllBytesAsync("large.bin"));
        Assert.Equal(["large.bin", "small.bin"], (await store.ListAllAsync("")).Select(i => i.Key));
        Assert.Equal(2, await store.DeleteAsync(["small.bin", "large.bin"]));
        Assert.Empty(await store.ListAllAsync(""));

        Assert.Equal($"oss://{bucket.Name}/{prefix}", store.Location);
        Assert.Contains(recorder.Calls, c => c.Operation == "UploadPart");
        var host = $"{bucket.Name}.{S3TestServer.StorageDomain}";
        Assert.All(recorder.Calls, c =>
        {
            Assert.Equal(host, c.Uri.Host);
            Assert.StartsWith(host, c.Host, StringComparison.Ordinal);
            Assert.False(c.Uri.AbsolutePath.StartsWith($"/{bucket.Name}", StringComparison.Ordinal), c.ToString());
        });
    }

    [Theory]
    [InlineData(S3Compatibility.Generic)]
    [InlineData(S3Compatibility.Minio)]
    public async Task PathStyleProfiles_Requests_AddressTheBucketInThePath(S3Compatibility profile)
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { Profile = profile, Recorder = recorder }, S3Bucket.NewPrefix("path-style"));
        await using var _ = store;

        await store.PutAsync("a.bin", new byte[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 1, 2, 3 }, await store.ReadAllBytesAsync("a.bin"));
        Assert.Single(await store.ListAllAsync(""));
        await store.DeleteAsync(["a.bin"]);

        Assert.All(recorder.Calls, c =>
        {
            Assert.Equal(S3TestServer.Endpoint.Host, c.Uri.Host);
            Assert.True(c.Uri.AbsolutePath == $"/{bucket.Name}" || c.Uri.AbsolutePath.StartsWith($"/{bucket.Name}/", StringComparison.Ordinal), c.ToString());
            Assert.Null(c.Header("x-amz-server-side-encryption"));
        });
    }

    [Theory]
    [InlineData(S3Encryption.S3Managed, "AES256", null)]
    [InlineData(S3Encryption.Kms, "aws:kms", "dataflow-test-key")]
    public async Task Encryption_Set_SendsItsHeaderOnPutInitiateAndCopy(S3Encryption encryption, string method, string? kmsKey)
    {
        var prefix = S3Bucket.NewPrefix("sse");
        var plain = bucket.Open(new S3Setup(), prefix);
        await using var _ = plain;
        await plain.PutAsync("source.bin", new byte[] { 9 });

        // No retries: the test server's Swift has no encryption middleware and answers every request that asks for
        // server-side encryption with 501 NotImplemented ("Server-side encryption is not supported."), which the
        // retry policy would otherwise retry as a server error. A server that encrypts answers 200.
        var recorder = new S3Recorder();
        var encrypted = bucket.Open(new S3Setup { Encryption = encryption, KmsKeyId = kmsKey, MaxRequestAttempts = 1, Recorder = recorder }, prefix);
        await using var __ = encrypted;

        var put = await Outcome(async () => await encrypted.PutAsync("put.bin", new byte[] { 1 }));
        var initiate = await Outcome(async () => await encrypted.PutAsync("multipart.bin", S3Test.Bytes((5 * MiB) + 1, seed: 73)));
        var copy = await Outcome(async () => await encrypted.MoveAsync("source.bin", "moved.bin"));

        // Every request of the three carries the header. (Rarely — once in some CI runs — a request is seen twice, the
        // first without an answer: resent below the store's retry policy, which is off here, after the server's 501s.
        // Why is not yet known; both must carry the header.)
        foreach (var operation in new[] { "PutObject", "CreateMultipartUpload", "CopyObject" })
        {
            var calls = recorder.Of(operation);
            Assert.NotEmpty(calls);
            Assert.All(calls, call => Assert.Equal(method, call.Header("x-amz-server-side-encryption")));
            Assert.All(calls, call => Assert.Equal(kmsKey, call.Header("x-amz-server-side-encryption-aws-kms-key-id")));
            Assert.True(calls[^1].Status is HttpStatusCode.OK or HttpStatusCode.NotImplemented, calls[^1].ToString());
            Assert.All(calls.SkipLast(1), call => Assert.Null(call.Status));
        }

        Assert.All(recorder.Of("UploadPart"), c => Assert.Null(c.Header("x-amz-server-side-encryption")));
        if (recorder.Of("PutObject")[^1].Status == HttpStatusCode.NotImplemented)
        {
            Assert.All([put, initiate, copy], ex => Assert.Contains("501 NotImplemented", Assert.IsType<ObjectStoreException>(ex).Message, StringComparison.Ordinal));

            // The failed move leaves its source.
            Assert.Equal(new byte[] { 9 }, await plain.ReadAllBytesAsync("source.bin"));
        }

        await plain.DeleteAsync(["source.bin", "put.bin", "multipart.bin", "moved.bin"]);
    }

    private static async Task<Exception?> Outcome(Func<Task> operation)
    {
        try
        {
            await operation();
            return null;
        }
        catch (ObjectStoreException ex)
        {
            return ex;
        }
    }
}
