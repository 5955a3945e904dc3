using Amazon.S3.Model;
using Dataflow.Storage;
using Dataflow.Storage.S3;

namespace Dataflow.Execution.Tests.Faults;

/// <summary>
/// The real S3 server of the tests (OpenStack Swift with s3api on loopback, started by <c>./test.sh</c> or
/// <c>scripts/s3-test-server.sh start</c>), read from the variables <c>scripts/s3-test-server.sh env</c> prints.
/// Ambient <c>AWS_*</c> variables and profiles are ignored. The same idea as the storage tests' helper.
/// </summary>
internal static class S3TestServer
{
    public static Uri Endpoint => new(Require("DATAFLOW_TEST_S3_ENDPOINT"));

    /// <summary>
    /// Store options for the test server, or for a proxy in front of it: path style, explicit credentials, 5 MiB
    /// parts, and short retry delays so that retries of injected faults keep the tests quick (the attempts stay the
    /// default 4).
    /// </summary>
    public static S3StoreOptions Options(Uri? endpoint = null) => new()
    {
        Profile = S3Compatibility.Generic,
        Endpoint = endpoint ?? Endpoint,
        AccessKey = Require("DATAFLOW_TEST_S3_ACCESS_KEY"),
        SecretKey = Require("DATAFLOW_TEST_S3_SECRET_KEY"),
        Region = "us-east-1",
        UseEnvironment = false,
        CreateBucketIfMissing = true,
        PartSize = S3StoreOptions.MinPartSize,
        RetryDelay = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>A bucket name no other test uses.</summary>
    public static string NewBucket(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 33)];

    /// <summary>Opens <c>s3://<paramref name="bucket"/></c> directly on the server, or through <paramref name="proxy"/>.</summary>
    public static async Task<IObjectStore> OpenAsync(string bucket, FaultProxy? proxy = null, Func<S3StoreOptions, S3StoreOptions>? adjust = null)
    {
        var options = Options(proxy?.Endpoint);
        return await ObjectStore.OpenAsync($"s3://{bucket}", new ObjectStoreOptions { S3 = adjust is null ? options : adjust(options) });
    }

    /// <summary>The multipart uploads of <paramref name="store"/>'s bucket that were started and neither completed nor aborted.</summary>
    public static async Task<List<string>> IncompleteUploadsAsync(IObjectStore store)
    {
        var s3 = (S3ObjectStore)store;
        var found = new List<string>();
        string? keyMarker = null, uploadMarker = null;
        do
        {
            var response = await s3.Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = s3.Bucket, KeyMarker = keyMarker, UploadIdMarker = uploadMarker });
            found.AddRange((response.MultipartUploads ?? []).Select(u => $"{u.Key} ({u.UploadId})"));
            (keyMarker, uploadMarker) = response.IsTruncated == true ? (response.NextKeyMarker, response.NextUploadIdMarker) : (null, null);
        }
        while (keyMarker is not null);
        return found;
    }

    /// <summary>Deletes every object (and open upload) of the bucket, and the bucket: the test server's disk is small. Best effort.</summary>
    public static async Task DeleteBucketAsync(IObjectStore store)
    {
        var s3 = (S3ObjectStore)store;
        try
        {
            await s3.AbortIncompleteUploadsAsync("");
            var keys = (await store.ListAllAsync("")).ConvertAll(i => i.Key);
            await store.DeleteAsync(keys);
            await s3.Client.DeleteBucketAsync(s3.Bucket);
        }
        catch (Exception e) when (e is ObjectStoreException or Amazon.S3.AmazonS3Exception)
        {
            // A bucket left behind costs disk on the test server, nothing more; the server starts afresh each time.
        }
    }

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: the S3 fault tests need the test server. Run ./test.sh, or start it with scripts/s3-test-server.sh start and export the variables of scripts/s3-test-server.sh env");
}
