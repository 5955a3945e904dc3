using Amazon.S3;
using Amazon.S3.Model;

namespace Dataflow.EndToEnd.Tests.WordCount;

/// <summary>word-count on the real S3 test server (started by ./test.sh), with the local and the process executor.</summary>
public sealed class WordCountOnS3Tests : IDisposable
{
    private readonly string _bucket = $"wc-e2e-{Guid.NewGuid():N}"[..30];
    private readonly AmazonS3Client _client;
    private readonly Dictionary<string, string> _environment;

    public WordCountOnS3Tests()
    {
        _environment = S3TestServer.ProgramEnvironment();
        _client = S3TestServer.CreateClient();
    }

    public void Dispose() => _client.Dispose();

    private Task<ProgramResult> RunAsync(params string[] args) => ProgramRunner.RunAsync("word-count", _environment, args);

    private async Task<Dictionary<string, string>> PartsAsync(string prefix)
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        var page = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix });
        foreach (var item in page.S3Objects ?? [])
        {
            using var response = await _client.GetObjectAsync(_bucket, item.Key);
            using var reader = new StreamReader(response.ResponseStream);
            parts[item.Key[prefix.Length..]] = await reader.ReadToEndAsync();
        }

        return parts;
    }

    private async Task<int> CountAsync(string prefix) =>
        (await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix })).S3Objects?.Count ?? 0;

    [Fact]
    public async Task Run_OnS3_LocalAndProcessExecutorsMatchSingleThreadedCountWithNothingLeft()
    {
        var store = $"s3://{_bucket}/wc";
        var generate = await RunAsync("generate", "--store", store, "--size", "128KiB", "--objects", "4", "--large-size", "768KiB", "--seed", "3");
        Assert.True(generate.ExitCode == 0, generate.ToString());

        string[] job = ["--store", store, "--reducers", "4", "--split-size", "256KiB", "--json", "--progress", "none"];
        var local = await RunAsync(["run", .. job, "--output", "local/"]);
        var process = await RunAsync(["run", .. job, "--output", "process/", "--executor", "process"]);

        foreach (var result in new[] { local, process })
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            var json = result.Json();
            Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
            Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
            Assert.Equal(json.GetProperty("tasks").GetInt32(), json.GetProperty("tasksRun").GetInt32());
            Assert.Equal(0, await CountAsync($"wc/_dataflow/runs/{json.GetProperty("runId").GetString()}/data/"));
        }

        Assert.Equal(local.Json().GetProperty("tasks").GetInt32(), process.Json().GetProperty("tasks").GetInt32());
        var localParts = await PartsAsync("wc/local/");
        Assert.Equal(4, localParts.Count);
        Assert.Equal(localParts, await PartsAsync("wc/process/"));
        Assert.Empty((await _client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = _bucket })).MultipartUploads ?? []);
    }
}
