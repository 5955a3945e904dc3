using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Dataflow.Storage;

/// <summary>The store's SDK client: how it is configured for the profile and endpoint, and the server-side encryption it asks for.</summary>
internal sealed partial class S3ObjectStore
{
    internal void ApplyEncryption(PutObjectRequest request)
    {
        request.ServerSideEncryptionMethod = EncryptionMethod;
        request.ServerSideEncryptionKeyManagementServiceKeyId = KmsKey;
    }

    internal void ApplyEncryption(InitiateMultipartUploadRequest request)
    {
        request.ServerSideEncryptionMethod = EncryptionMethod;
        request.ServerSideEncryptionKeyManagementServiceKeyId = KmsKey;
    }

    internal void ApplyEncryption(CopyObjectRequest request)
    {
        request.ServerSideEncryptionMethod = EncryptionMethod;
        request.ServerSideEncryptionKeyManagementServiceKeyId = KmsKey;
    }

    private ServerSideEncryptionMethod? EncryptionMethod => Options.Encryption switch
    {
        S3Encryption.S3Managed => ServerSideEncryptionMethod.AES256,
        S3Encryption.Kms => ServerSideEncryptionMethod.AWSKMS,
        _ => null,
    };

    private string? KmsKey => Options.Encryption == S3Encryption.Kms ? Options.KmsKeyId : null;

    private static S3Compatibility DefaultProfile(S3Address address, S3StoreOptions options) =>
        address.Scheme == "oss" ? S3Compatibility.Oss
        : options.Endpoint is not null || (options.UseEnvironment && EnvironmentEndpoint() is not null) ? S3Compatibility.Generic
        : S3Compatibility.Aws;

    private static string? EnvironmentEndpoint() =>
        Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") is { Length: > 0 } s3 ? s3
        : Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL") is { Length: > 0 } any ? any
        : null;

    private static AmazonS3Client CreateClient(S3Address address, S3StoreOptions options, S3ProfileSettings profile, S3HttpClientFactory http)
    {
        var region = options.Region
            ?? (options.UseEnvironment ? Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") : null)
            ?? (address.Scheme == "oss" ? "oss-cn-hangzhou" : "us-east-1");
        var endpoint = options.Endpoint?.ToString()
            ?? (options.UseEnvironment ? EnvironmentEndpoint() : null)
            ?? (address.Scheme == "oss" ? $"https://{(region.StartsWith("oss-", StringComparison.Ordinal) ? region : "oss-" + region)}.aliyuncs.com" : null);

        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle ?? profile.ForcePathStyle,
            MaxErrorRetry = 0,
            Timeout = options.RequestTimeout,
            HttpClientFactory = http,
            IgnoreConfiguredEndpointUrls = !options.UseEnvironment,
        };
        if (profile.ChecksumsWhenRequired)
        {
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }

        if (endpoint is not null)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        AWSCredentials? credentials = options switch
        {
            { AccessKey: { } key, SecretKey: { } secret, SessionToken: { } token } => new SessionAWSCredentials(key, secret, token),
            { AccessKey: { } key, SecretKey: { } secret } => new BasicAWSCredentials(key, secret),
            { UseEnvironment: false } => throw new ArgumentException($"store '{address}': no credentials given, and the environment is not to be used"),
            _ => AlibabaRrsaCredentials.FromEnvironment(),
        };

        // Without explicit keys: RRSA on ACK when its variables are set, else the SDK's default chain: environment
        // variables, the shared profile (AWS_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: IRSA
        // on EKS), container and instance roles.
        return credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
    }
}
