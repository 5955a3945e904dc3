using Dataflow.Storage.S3;

namespace Dataflow.Storage.Tests.S3;

/// <summary>
/// The real S3 server the tests talk to: OpenStack Swift with s3api on loopback, started by <c>./test.sh</c>
/// (<c>scripts/s3-test-server.sh</c>), which exports its address. Only these variables are read: ambient
/// <c>AWS_*</c> variables and profiles are ignored, so a developer's real account is never touched.
/// </summary>
internal static class S3TestServer
{
    public static Uri Endpoint => new(Require("DATAFLOW_TEST_S3_ENDPOINT"));

    public static string AccessKey => Require("DATAFLOW_TEST_S3_ACCESS_KEY");

    public static string SecretKey => Require("DATAFLOW_TEST_S3_SECRET_KEY");

    /// <summary>The server's storage domain for virtual-hosted requests (<c>bucket.domain</c>), resolved to the endpoint's host by the tests themselves.</summary>
    public static string StorageDomain => Require("DATAFLOW_TEST_S3_STORAGE_DOMAIN");

    /// <summary>Store options for the test server: path style, explicit credentials, nothing from the environment.</summary>
    public static S3StoreOptions Options(S3Compatibility profile = S3Compatibility.Generic) => new()
    {
        Profile = profile,
        Endpoint = Endpoint,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Region = "us-east-1",
        UseEnvironment = false,
        CreateBucketIfMissing = true,
    };

    /// <summary>A bucket name no other test uses.</summary>
    public static string NewBucket(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 33)];

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: the S3 tests need the test server. Run ./test.sh, or start it with scripts/s3-test-server.sh start and export the variables of scripts/s3-test-server.sh env");
}
