using Amazon.Runtime;
using Amazon.S3;

namespace Dataflow.EndToEnd.Tests;

/// <summary>
/// The real S3 test server (Swift with s3api, started by ./test.sh), from the <c>DATAFLOW_TEST_S3_*</c> variables: the
/// standard AWS variables through which the example programs reach it, as users configure them, and a client of the
/// tests' own for setting up and checking buckets.
/// </summary>
internal sealed class S3TestServer
{
    private const string Region = "us-east-1";

    /// <summary>Reads the server's endpoint and keys.</summary>
    /// <exception cref="InvalidOperationException">A variable is not set (the server was not started).</exception>
    public S3TestServer()
    {
        Endpoint = Setting("DATAFLOW_TEST_S3_ENDPOINT");
        AccessKey = Setting("DATAFLOW_TEST_S3_ACCESS_KEY");
        SecretKey = Setting("DATAFLOW_TEST_S3_SECRET_KEY");
    }

    /// <summary>The server's endpoint URL.</summary>
    public string Endpoint { get; }

    /// <summary>The access key the server accepts.</summary>
    public string AccessKey { get; }

    /// <summary>The secret key that goes with <see cref="AccessKey"/>.</summary>
    public string SecretKey { get; }

    /// <summary>
    /// The environment for an example program run as a child process: the server and its keys through the standard
    /// AWS variables, and a profile that does not exist, so that nothing of this machine's AWS configuration counts.
    /// A new dictionary every call: a test may change it.
    /// </summary>
    public Dictionary<string, string> ProgramEnvironment() => new()
    {
        ["AWS_ENDPOINT_URL"] = Endpoint,
        ["AWS_ACCESS_KEY_ID"] = AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        ["AWS_REGION"] = Region,
        ["AWS_PROFILE"] = "dataflow-tests-no-such-profile",
    };

    /// <summary>A client of the server (path-style, checksums only where required), the caller's to dispose.</summary>
    public AmazonS3Client CreateClient() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Endpoint,
        ForcePathStyle = true,
        AuthenticationRegion = Region,
        IgnoreConfiguredEndpointUrls = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    private static string Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: run ./test.sh, which starts the S3 test server");
}
