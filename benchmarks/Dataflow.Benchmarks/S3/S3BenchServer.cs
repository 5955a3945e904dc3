using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;

namespace Dataflow.Benchmarks.S3;

/// <summary>
/// The S3 server the S3 benchmarks talk to, from the variables of <c>scripts/s3-test-server.sh env</c>
/// (<c>DATAFLOW_TEST_S3_ENDPOINT</c>, <c>DATAFLOW_TEST_S3_ACCESS_KEY</c>, <c>DATAFLOW_TEST_S3_SECRET_KEY</c>); ambient
/// <c>AWS_*</c> variables and profiles are ignored, so a real account is never touched. Both clients get the same
/// part size (<see cref="PartSize"/>) and concurrency (<see cref="Concurrency"/>), so that the comparison is fair.
/// </summary>
internal sealed record S3BenchServer(Uri Endpoint, string AccessKey, string SecretKey)
{
    /// <summary>The region used for signing.</summary>
    public const string Region = "us-east-1";

    /// <summary>Upload parts and download ranges of both clients: 16 MiB (Dataflow's default part size).</summary>
    public const int PartSize = 16 << 20;

    /// <summary>Parts (or ranges) in flight at once, for both clients: 8 (Dataflow's default for uploads).</summary>
    public const int Concurrency = 8;

    private static readonly string[] s_variables = ["DATAFLOW_TEST_S3_ENDPOINT", "DATAFLOW_TEST_S3_ACCESS_KEY", "DATAFLOW_TEST_S3_SECRET_KEY"];

    /// <summary>Reads the server's address and credentials from the environment.</summary>
    /// <exception cref="InvalidOperationException">A variable is not set; the message says how to set them.</exception>
    public static S3BenchServer FromEnvironment()
    {
        var missing = s_variables.Where(v => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"{string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not set: the S3 benchmarks need an S3 server. "
                + "Start the test server (scripts/s3-test-server.sh start) and export its variables: eval \"$(scripts/s3-test-server.sh env)\"");
        }

        var endpoint = Environment.GetEnvironmentVariable(s_variables[0])!;
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            throw new InvalidOperationException($"DATAFLOW_TEST_S3_ENDPOINT='{endpoint}' is not an absolute URI");
        }

        return new S3BenchServer(uri, Environment.GetEnvironmentVariable(s_variables[1])!, Environment.GetEnvironmentVariable(s_variables[2])!);
    }

    /// <summary>A bucket name no one else uses.</summary>
    public static string NewBucket(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 33)];

    /// <summary>
    /// Dataflow's store options for this server: the generic profile (path style, plain bodies, checksums where
    /// required), 16 MiB parts with 8 in flight, and — unlike the defaults (8 MiB × 4) — 16 MiB read ranges with 8 in
    /// flight, to match TransferUtility's download settings. An upload's part buffers stay within the default
    /// <see cref="S3StoreOptions.MaxUploadMemory"/> (48 MiB: 3 parts being written or sent), which bounds its parts in
    /// flight before the 8 do.
    /// </summary>
    public S3StoreOptions StoreOptions() => new()
    {
        Profile = S3Compatibility.Generic,
        Endpoint = Endpoint,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Region = Region,
        UseEnvironment = false,
        CreateBucketIfMissing = true,
        PartSize = PartSize,
        MaxConcurrentParts = Concurrency,
        ReadChunkSize = PartSize,
        MaxConcurrentReads = Concurrency,
    };

    /// <summary>Opens <c>s3://bucket/</c> through Dataflow, creating the bucket.</summary>
    public async Task<S3ObjectStore> OpenStoreAsync(string bucket) =>
        (S3ObjectStore)await ObjectStore.OpenAsync($"s3://{bucket}/", new ObjectStoreOptions { S3 = StoreOptions() }).ConfigureAwait(false);

    /// <summary>
    /// An SDK client configured like Dataflow's (service URL, path style, signing region, checksums only where
    /// required) with the SDK's own HTTP stack, retries and timeouts, whose PutObject and UploadPart requests go
    /// out as plain bodies rather than aws-chunked ones (which Swift refuses with 501). TransferUtility has no
    /// per-request switch for that, so a pipeline handler sets <see cref="PutObjectRequest.UseChunkEncoding"/> and
    /// <see cref="UploadPartRequest.UseChunkEncoding"/> to false; it is registered only while this client is built, so
    /// no other client (Dataflow's included) gets it.
    /// </summary>
    public AmazonS3Client CreateSdkClient()
    {
        var config = new AmazonS3Config
        {
            ServiceURL = Endpoint.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = Region,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            IgnoreConfiguredEndpointUrls = true,
        };

        lock (PlainBodies.Gate)
        {
            var customizer = new PlainBodies();
            RuntimePipelineCustomizerRegistry.Instance.Register(customizer);
            try
            {
                return new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey), config);
            }
            finally
            {
                RuntimePipelineCustomizerRegistry.Instance.Deregister(customizer);
            }
        }
    }

    /// <summary>TransferUtility over <paramref name="client"/> with <see cref="Concurrency"/> requests at once.</summary>
    public static TransferUtility CreateTransferUtility(IAmazonS3 client) =>
        new(client, new TransferUtilityConfig { ConcurrentServiceRequests = Concurrency });

    /// <summary>Deletes every object in <paramref name="store"/>'s bucket, then the bucket; failures are reported, not thrown.</summary>
    public static async Task DeleteBucketAsync(S3ObjectStore store)
    {
        try
        {
            var keys = new List<string>();
            await foreach (var info in store.ListAsync(string.Empty).ConfigureAwait(false))
            {
                keys.Add(info.Key);
            }

            await store.DeleteAsync(keys).ConfigureAwait(false);
            await store.Client.DeleteBucketAsync(new DeleteBucketRequest { BucketName = store.Bucket }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectStoreException or AmazonServiceException)
        {
            await Console.Error.WriteLineAsync($"warning: could not delete bucket '{store.Bucket}': {ex.Message}").ConfigureAwait(false);
        }
    }

    /// <summary>Adds <see cref="PlainBodiesHandler"/> to the pipeline of clients built while it is registered.</summary>
    private sealed class PlainBodies : IRuntimePipelineCustomizer
    {
        public static readonly object Gate = new();

        public string UniqueName => "Dataflow.Benchmarks.PlainBodies";

        public void Customize(Type type, RuntimePipeline pipeline)
        {
            if (typeof(IAmazonS3).IsAssignableFrom(type))
            {
                // Before the marshaller, which copies the flag onto the HTTP request it builds.
                pipeline.AddHandlerBefore<Marshaller>(new PlainBodiesHandler());
            }
        }
    }

    /// <summary>Turns aws-chunked bodies off on PutObject and UploadPart requests.</summary>
    private sealed class PlainBodiesHandler : PipelineHandler
    {
        public override void InvokeSync(IExecutionContext executionContext)
        {
            PlainBody(executionContext);
            base.InvokeSync(executionContext);
        }

        public override Task<T> InvokeAsync<T>(IExecutionContext executionContext)
        {
            PlainBody(executionContext);
            return base.InvokeAsync<T>(executionContext);
        }

        private static void PlainBody(IExecutionContext executionContext)
        {
            switch (executionContext.RequestContext.OriginalRequest)
            {
                case PutObjectRequest put:
                    put.UseChunkEncoding = false;
                    break;
                case UploadPartRequest part:
                    part.UseChunkEncoding = false;
                    break;
            }
        }
    }
}
