using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Dataflow.Testing;

/// <summary>
/// The real S3 server the tests talk to: OpenStack Swift with s3api on loopback, started by <c>./test.sh</c>
/// (<c>scripts/s3-test-server.sh</c>), which exports its address in the <c>DATAFLOW_TEST_S3_*</c> variables. Only
/// these variables are read: ambient <c>AWS_*</c> variables and profiles are ignored, so a developer's real account is
/// never touched.
/// </summary>
public static class S3TestServer
{
    /// <summary>The region the server signs for.</summary>
    public const string Region = "us-east-1";

    /// <summary>The server's endpoint.</summary>
    public static Uri Endpoint => new(Require("DATAFLOW_TEST_S3_ENDPOINT"));

    /// <summary>The access key the server accepts.</summary>
    public static string AccessKey => Require("DATAFLOW_TEST_S3_ACCESS_KEY");

    /// <summary>The secret key that goes with <see cref="AccessKey"/>.</summary>
    public static string SecretKey => Require("DATAFLOW_TEST_S3_SECRET_KEY");

    /// <summary>The server's storage domain for virtual-hosted requests (<c>bucket.domain</c>), resolved to the endpoint's host by the tests themselves.</summary>
    public static string StorageDomain => Require("DATAFLOW_TEST_S3_STORAGE_DOMAIN");

    /// <summary>
    /// Store options for the server, or for a proxy in front of it at <paramref name="endpoint"/>: path style,
    /// explicit credentials, nothing from the environment.
    /// </summary>
    public static S3StoreOptions Options(S3Compatibility profile = S3Compatibility.Generic, Uri? endpoint = null) => new()
    {
        Profile = profile,
        Endpoint = endpoint ?? Endpoint,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Region = Region,
        UseEnvironment = false,
        CreateBucketIfMissing = true,
    };

    /// <summary>
    /// <see cref="Options"/> with 5 MiB parts and short retry delays, so that retries of injected faults keep the
    /// tests quick (the attempts stay the default).
    /// </summary>
    public static S3StoreOptions FaultOptions(Uri? endpoint = null) => new()
    {
        Profile = S3Compatibility.Generic,
        Endpoint = endpoint ?? Endpoint,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Region = Region,
        UseEnvironment = false,
        CreateBucketIfMissing = true,
        PartSize = S3StoreOptions.MinPartSize,
        RetryDelay = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>A bucket name no other test uses.</summary>
    public static string NewBucket(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 33)];

    /// <summary>
    /// Opens <c>s3://<paramref name="bucket"/></c> with <see cref="FaultOptions"/>, directly on the server or through
    /// <paramref name="proxy"/>.
    /// </summary>
    public static async Task<IObjectStore> OpenAsync(string bucket, FaultProxy? proxy = null, Func<S3StoreOptions, S3StoreOptions>? adjust = null)
    {
        var options = FaultOptions(proxy?.Endpoint);
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
        catch (Exception e) when (e is ObjectStoreException or AmazonS3Exception)
        {
            // A bucket left behind costs disk on the test server, nothing more; the server starts afresh each time.
        }
    }

    /// <summary>
    /// The environment for an example program run as a child process: the server and its keys through the standard
    /// AWS variables, as users configure them, and a profile that does not exist, so that nothing of this machine's
    /// AWS configuration counts. A new dictionary every call: a test may change it.
    /// </summary>
    public static Dictionary<string, string> ProgramEnvironment() => new()
    {
        ["AWS_ENDPOINT_URL"] = Require("DATAFLOW_TEST_S3_ENDPOINT"),
        ["AWS_ACCESS_KEY_ID"] = AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        ["AWS_REGION"] = Region,
        ["AWS_PROFILE"] = "dataflow-tests-no-such-profile",
    };

    /// <summary>A client of the server (path-style, checksums only where required), the caller's to dispose.</summary>
    public static AmazonS3Client CreateClient() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Require("DATAFLOW_TEST_S3_ENDPOINT"),
        ForcePathStyle = true,
        AuthenticationRegion = Region,
        IgnoreConfiguredEndpointUrls = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: the S3 tests need the test server. Run ./test.sh, or start it with scripts/s3-test-server.sh start and export the variables of scripts/s3-test-server.sh env");
}
