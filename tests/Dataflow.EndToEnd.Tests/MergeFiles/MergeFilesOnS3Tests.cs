using Amazon.S3;
using Amazon.S3.Model;

namespace Dataflow.EndToEnd.Tests.MergeFiles;

/// <summary>
/// merge-files with <c>--store s3://…</c> against the real S3 test server (Swift with s3api, started by ./test.sh),
/// configured the way users configure it: through the standard AWS variables.
/// </summary>
public sealed class MergeFilesOnS3Tests : IDisposable
{
    private readonly string _bucket = $"merge-e2e-{Guid.NewGuid():N}"[..30];
    private readonly AmazonS3Client _client;
    private readonly Dictionary<string, string> _environment;

    public MergeFilesOnS3Tests()
    {
        _environment = S3TestServer.ProgramEnvironment();
        _client = S3TestServer.CreateClient();
    }

    public void Dispose() => _client.Dispose();

    private Task<ProgramResult> RunAsync(params string[] args) => ProgramRunner.RunAsync("merge-files", _environment, args);

    private async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        string? token = null;
        do
        {
            var page = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix, ContinuationToken = token });
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
        return keys;
    }

    private async Task<int> IncompleteUploadsAsync() =>
        (await _client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = _bucket })).MultipartUploads?.Count ?? 0;

    private async Task AssertCleanRunAsync(ProgramResult result, int stages, int tasks)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Equal(stages, json.GetProperty("stages").GetInt32());
        Assert.Equal(tasks, json.GetProperty("tasks").GetInt32());
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
        var runId = json.GetProperty("runId").GetString()!;
        Assert.Empty(await KeysAsync($"run/_dataflow/runs/{runId}/data/"));
        Assert.Empty(await KeysAsync($"run/_dataflow/runs/{runId}/uploads/"));
        Assert.Equal(0, await IncompleteUploadsAsync());
        Assert.Equal($"s3://{_bucket}/run/output/merged.txt", json.GetProperty("output").GetString());
    }

    [Fact]
    public async Task Run_SeedCascadeOnS3_VerifiesWithNothingLeft()
    {
        var result = await RunAsync("--store", $"s3://{_bucket}/run", "--json", "--progress", "none");

        await AssertCleanRunAsync(result, stages: 9, tasks: 511);
        Assert.Equal(512, (await KeysAsync("run/input/")).Count);
    }

    [Fact]
    public async Task Run_LargeInputsOnS3_ComposesAndVerifiesWithNothingLeft()
    {
        var result = await RunAsync("--store", $"s3://{_bucket}/run", "--files", "16", "--file-size", "12MiB", "--json", "--progress", "none");

        await AssertCleanRunAsync(result, stages: 4, tasks: 15);
        var output = await _client.GetObjectMetadataAsync(_bucket, "run/output/merged.txt");
        Assert.Equal(16L * 12 << 20, output.ContentLength);

        // The final merge was a multipart upload of server-side copies, so its ETag is that of a multipart object.
        Assert.Matches("-[0-9]+\"?$", output.ETag);
    }

    [Fact]
    public async Task Run_WrongCredentials_Exit1WithAClearErrorAndNoSecret()
    {
        var environment = new Dictionary<string, string>(_environment) { ["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-at-all" };

        var result = await ProgramRunner.RunAsync("merge-files", environment, "--store", $"s3://{_bucket}/run", "--files", "2");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("access denied", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret-at-all", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WebIdentityCredentials_AssumesTheRoleThroughTheSdkChain()
    {
        // IRSA on EKS: no keys, a projected token file and a role; the SDK's chain asks STS for credentials. A fake
        // STS on loopback answers with the test server's keys.
        using var sts = new FakeSts(S3TestServer.AccessKey, S3TestServer.SecretKey);
        var token = Path.Combine(Path.GetTempPath(), $"dataflow-web-identity-{Guid.NewGuid():N}.jwt");
        await File.WriteAllTextAsync(token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl");
        try
        {
            var environment = new Dictionary<string, string>(_environment)
            {
                ["AWS_ACCESS_KEY_ID"] = string.Empty,
                ["AWS_SECRET_ACCESS_KEY"] = string.Empty,
                ["AWS_WEB_IDENTITY_TOKEN_FILE"] = token,
                ["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/dataflow-test",
                ["AWS_ROLE_SESSION_NAME"] = "dataflow-test",
                ["AWS_ENDPOINT_URL_STS"] = sts.Endpoint,
            };

            var result = await ProgramRunner.RunAsync("merge-files", environment, "--store", $"s3://{_bucket}/run", "--files", "4", "--json");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.True(result.Json().GetProperty("verified").GetBoolean());
            Assert.True(sts.Calls > 0, "the SDK never asked STS");
            Assert.Contains("Action=AssumeRoleWithWebIdentity", sts.LastRequest, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(token);
        }
    }

    [Fact]
    public async Task Run_AlibabaRrsaCredentials_AssumesTheRoleWithOidc()
    {
        // RRSA on ACK: the pod has a token file, a role and an OIDC provider; Alibaba's STS (faked on loopback)
        // exchanges them for temporary keys, which sign the S3-compatible requests.
        using var sts = new FakeSts(S3TestServer.AccessKey, S3TestServer.SecretKey, alibaba: true);
        var token = Path.Combine(Path.GetTempPath(), $"dataflow-rrsa-{Guid.NewGuid():N}.jwt");
        await File.WriteAllTextAsync(token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY2sifQ.c2lnbmF0dXJl\n");
        try
        {
            var environment = new Dictionary<string, string>(_environment)
            {
                ["AWS_ACCESS_KEY_ID"] = string.Empty,
                ["AWS_SECRET_ACCESS_KEY"] = string.Empty,
                ["ALIBABA_CLOUD_ROLE_ARN"] = "acs:ram::1234567890:role/dataflow-test",
                ["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"] = "acs:ram::1234567890:oidc-provider/ack-rrsa-test",
                ["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] = token,
                ["ALIBABA_CLOUD_STS_ENDPOINT"] = sts.Endpoint,
            };

            var result = await ProgramRunner.RunAsync("merge-files", environment, "--store", $"s3://{_bucket}/run", "--files", "4", "--json");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.True(result.Json().GetProperty("verified").GetBoolean());
            Assert.True(sts.Calls > 0, "nobody asked Alibaba's STS");
            Assert.Contains("Action=AssumeRoleWithOIDC", sts.LastRequest, StringComparison.Ordinal);
            Assert.Contains("OIDCToken=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY2sifQ.c2lnbmF0dXJl&", sts.LastRequest, StringComparison.Ordinal);
            Assert.Contains("RoleArn=acs%3Aram%3A%3A1234567890%3Arole%2Fdataflow-test", sts.LastRequest, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(token);
        }
    }

    [Fact]
    public async Task Gc_CrashedRunWithAnIncompleteUpload_AbortsItAndDeletesTheData()
    {
        // A crashed run: an intermediate object, and a multipart upload recorded in the store's journal (which mirrors
        // the key under _dataflow/uploads/) but never finished.
        const string RunId = "crashed-run";
        await _client.PutBucketAsync(_bucket);
        await _client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = $"run/_dataflow/runs/{RunId}/data/s0000/t000000.a01-1.out", ContentBody = "x", UseChunkEncoding = false });
        var upload = await _client.InitiateMultipartUploadAsync(_bucket, $"run/_dataflow/runs/{RunId}/data/s0001/t000000.a01-2.out");
        await _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = $"run/_dataflow/uploads/_dataflow/runs/{RunId}/data/s0001/t000000.a01-2.out/entry.json",
            ContentBody = $$"""{"key":"_dataflow/runs/{{RunId}}/data/s0001/t000000.a01-2.out","uploadId":"{{upload.UploadId}}","startedAt":"2026-11-29T00:00:00Z"}""",
            UseChunkEncoding = false,
        });
        Assert.Equal(1, await IncompleteUploadsAsync());

        var result = await RunAsync("gc", "--store", $"s3://{_bucket}/run", "--run-id", RunId, "--s3-profile", "oss");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("aborted 1 incomplete uploads, deleted 1 intermediate objects", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, await IncompleteUploadsAsync());
        Assert.Empty(await KeysAsync($"run/_dataflow/runs/{RunId}/"));
        Assert.Empty(await KeysAsync("run/_dataflow/uploads/"));
    }

    /// <summary>Answers AssumeRoleWithWebIdentity (AWS) or AssumeRoleWithOIDC (Alibaba Cloud) with fixed credentials, as STS would.</summary>
    private sealed class FakeSts : IDisposable
    {
        private readonly System.Net.HttpListener _listener = new();
        private readonly string _accessKey;
        private readonly string _secretKey;
        private readonly Task _serving;
        private readonly bool _alibaba;
        private int _calls;

        public FakeSts(string accessKey, string secretKey, bool alibaba = false)
        {
            _alibaba = alibaba;
            _accessKey = accessKey;
            _secretKey = secretKey;
            var port = FreePort();
            Endpoint = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Endpoint + "/");
            _listener.Start();
            _serving = ServeAsync();
        }

        public string Endpoint { get; }

        public int Calls => Volatile.Read(ref _calls);

        public string LastRequest { get; private set; } = string.Empty;

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }

        private static int FreePort()
        {
            using var socket = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            socket.Start();
            return ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                System.Net.HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is System.Net.HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using (var reader = new StreamReader(context.Request.InputStream))
                {
                    LastRequest = await reader.ReadToEndAsync();
                }

                Interlocked.Increment(ref _calls);
                var expiration = DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
                var body = System.Text.Encoding.UTF8.GetBytes(_alibaba
                    ? $$$"""{"RequestId":"dataflow-test","Credentials":{"AccessKeyId":"{{{_accessKey}}}","AccessKeySecret":"{{{_secretKey}}}","SecurityToken":"dataflow-test-session","Expiration":"{{{expiration}}}"}}"""
                    : $$"""
                    <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                      <AssumeRoleWithWebIdentityResult>
                        <Credentials>
                          <AccessKeyId>{{_accessKey}}</AccessKeyId>
                          <SecretAccessKey>{{_secretKey}}</SecretAccessKey>
                          <SessionToken>dataflow-test-session</SessionToken>
                          <Expiration>{{expiration}}</Expiration>
                        </Credentials>
                        <SubjectFromWebIdentityToken>test</SubjectFromWebIdentityToken>
                        <AssumedRoleUser>
                          <Arn>arn:aws:sts::123456789012:assumed-role/dataflow-test/dataflow-test</Arn>
                          <AssumedRoleId>AROA:dataflow-test</AssumedRoleId>
                        </AssumedRoleUser>
                      </AssumeRoleWithWebIdentityResult>
                      <ResponseMetadata><RequestId>dataflow-test</RequestId></ResponseMetadata>
                    </AssumeRoleWithWebIdentityResponse>
                    """);
                context.Response.ContentType = _alibaba ? "application/json" : "text/xml";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }
    }
}
