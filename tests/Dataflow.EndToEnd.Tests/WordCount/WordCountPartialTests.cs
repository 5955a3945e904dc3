using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Dataflow.EndToEnd.Tests.WordCount;

/// <summary>
/// examples/word-count over 64 input objects of which 3 are corrupt gzip, run as users run it: with
/// <c>--max-failed-inputs 5</c> it succeeds as a partial run (exit code 3) listing exactly those 3 and counting the
/// other 61; with the default it fails naming one of them.
/// </summary>
public sealed class WordCountPartialTests : IDisposable
{
    private const string Program = "word-count";
    private const int Objects = 64;

    // Every object is larger than the split, so none shares a map task with another: a corrupt one loses itself only.
    private static readonly string[] s_job = ["--reducers", "4", "--split-size", "1KiB", "--concurrency", "4", "--progress", "none", "--json"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public WordCountPartialTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>The inputs: 61 text objects of lower-case words and 3 <c>.gz</c> objects whose deflate data is garbage.</summary>
    private static (SortedDictionary<string, byte[]> Objects, List<string> Good, List<string> Corrupt) Inputs()
    {
        var objects = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var good = new List<string>();
        var corrupt = new List<string>();
        var random = new Random(18);
        for (var i = 0; i < Objects; i++)
        {
            if (i is 7 or 30 or 51)
            {
                using var compressed = new MemoryStream();
                using (var gzip = new GZipStream(compressed, CompressionLevel.NoCompression, leaveOpen: true))
                {
                    gzip.Write(Encoding.UTF8.GetBytes(Text(random)));
                }

                var bytes = compressed.ToArray();
                bytes.AsSpan(10, bytes.Length - 18).Fill(0xFF);
                var key = $"input/obj-{i:D2}.gz";
                objects[key] = bytes;
                corrupt.Add(key);
            }
            else
            {
                var text = Text(random);
                objects[$"input/obj-{i:D2}.txt"] = Encoding.UTF8.GetBytes(text);
                good.Add(text);
            }
        }

        return (objects, good, corrupt);
    }

    private static string Text(Random random)
    {
        var text = new StringBuilder();
        while (text.Length < 3000)
        {
            text.AppendJoin(' ', Enumerable.Range(0, random.Next(1, 10)).Select(_ => "w" + random.Next(500).ToString(CultureInfo.InvariantCulture))).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The test's own count of <paramref name="texts"/>: their words are runs of lower-case letters and digits between spaces.</summary>
    private static Dictionary<string, long> Count(IEnumerable<string> texts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var word in texts.SelectMany(t => t.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)))
        {
            counts[word] = counts.GetValueOrDefault(word) + 1;
        }

        return counts;
    }

    private static Dictionary<string, long> ReadParts(IEnumerable<string> parts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in parts.SelectMany(p => p.Split('\n', StringSplitOptions.RemoveEmptyEntries)))
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            counts.Add(line[..tab], long.Parse(line[(tab + 1)..], CultureInfo.InvariantCulture));
        }

        return counts;
    }

    private string WriteFolder(string name, SortedDictionary<string, byte[]> objects)
    {
        var store = Path.Combine(_root, name);
        foreach (var (key, bytes) in objects)
        {
            var path = Path.Combine(store, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }

        return store;
    }

    private static void AssertPartial(ProgramResult result, List<string> corrupt)
    {
        Assert.True(result.ExitCode == 3, result.ToString());
        var json = result.Json();
        Assert.Equal("succeeded", json.GetProperty("status").GetString());
        Assert.True(json.GetProperty("partial").GetBoolean(), result.ToString());
        Assert.Equal(corrupt, json.GetProperty("failedInputs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(3, json.GetProperty("tasksTolerated").GetInt32());
        Assert.Equal(0, json.GetProperty("retries").GetInt32());
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());

        // The program checked the parts against the 61 inputs that did not fail, and says it was a partial run.
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Contains("verified: PARTIAL run, checked against the 61 inputs that did not fail (3 failed and are left out)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"PARTIAL: 3 inputs failed (3 tasks tolerated by --max-failed-inputs) and are left out of the output: '{corrupt[0]}', '{corrupt[1]}', '{corrupt[2]}'", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("local")]
    [InlineData("process")]
    public async Task Run_ThreeCorruptGzipOf64WithinTheBudget_ExitsPartialListingThemAndCountsTheOther61(string executor)
    {
        var (objects, good, corrupt) = Inputs();
        var store = WriteFolder(executor, objects);

        var result = await ProgramRunner.RunAsync(Program, ["run", "--store", store, "--executor", executor, "--max-failed-inputs", "5", .. s_job]);

        AssertPartial(result, corrupt);
        var parts = Directory.GetFiles(Path.Combine(store, "output")).Order(StringComparer.Ordinal).Select(File.ReadAllText);
        Assert.Equal(Count(good), ReadParts(parts));
        var data = Path.Combine(store, "_dataflow", "runs", result.Json().GetProperty("runId").GetString()!, "data");
        Assert.False(Directory.Exists(data) && Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Any(), "intermediate data is left");
        var report = await File.ReadAllTextAsync(Path.Combine(store, "_dataflow", "runs", result.Json().GetProperty("runId").GetString()!, "report.html"));
        Assert.Contains("Partial success: 3 inputs failed", report, StringComparison.Ordinal);

        // The run management commands say it too.
        var runId = result.Json().GetProperty("runId").GetString()!;
        var status = await ProgramRunner.RunAsync(Program, "status", runId, "--store", store);
        Assert.Contains($"run {runId} of job 'word-count': succeeded (partial: 3 inputs failed and left out: '{corrupt[0]}', '{corrupt[1]}', '{corrupt[2]}')", status.Stdout, StringComparison.Ordinal);
        var runs = await ProgramRunner.RunAsync(Program, "runs", "--store", store);
        Assert.Matches($@"{runId}\s+word-count\s+partial\s", runs.Stdout);
    }

    [Fact]
    public async Task Run_ThreeCorruptGzipOf64WithTheDefault_FailsNamingOneOfThem()
    {
        var (objects, _, corrupt) = Inputs();
        var store = WriteFolder("default", objects);

        var result = await ProgramRunner.RunAsync(Program, ["run", "--store", store, .. s_job]);

        Assert.True(result.ExitCode == 1, result.ToString());
        var named = corrupt.Where(key => result.Stderr.Contains($"error: job 'word-count': task 0/", StringComparison.Ordinal)
            && result.Stderr.Contains($"input '{key}') failed permanently after 1 attempt (not retried): InvalidDataException: '{key}' is not valid gzip data", StringComparison.Ordinal));
        Assert.Single(named);
        Assert.Equal("failed", result.Json().GetProperty("status").GetString());
        Assert.False(Directory.Exists(Path.Combine(store, "output")));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("101%")]
    [InlineData("a few")]
    public async Task Run_BadMaxFailedInputs_ExitsTwoNamingTheOption(string value)
    {
        var result = await ProgramRunner.RunAsync(Program, "run", "--store", Path.Combine(_root, "bad"), "--max-failed-inputs", value);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"--max-failed-inputs: '{value}' is neither a number of inputs (e.g. 5) nor a percentage of the inputs from 0% to 100% (e.g. 2%)", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kubernetes")]
    [InlineData("argo")]
    public async Task Run_BudgetOnAClusterExecutor_ExitsTwoBeforeAnythingRuns(string executor)
    {
        // Pods read an S3 store, not a folder of this machine.
        var bucket = S3TestServer.NewBucket("wc-refused");
        await using var s3 = await S3TestServer.OpenAsync(bucket);
        await s3.PutAsync("wc/input/a.txt", "a few words\n"u8.ToArray());
        await using var cluster = await Kubernetes.ClusterFixture.StartAsync(_root);

        var result = await ProgramRunner.RunAsync(Program, S3TestServer.ProgramEnvironment(), ["run", "--store", $"s3://{bucket}/wc", "--store-secret", Kubernetes.ClusterFixture.StoreSecret, "--max-failed-inputs", "1", .. cluster.Options(executor, Program), .. s_job]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"--max-failed-inputs 1: the {executor} executor cannot go on without a failed task", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(cluster.Server.Requests, r => r.Verb == "create");
        Assert.Empty(await s3.ListAllAsync("wc/_dataflow/"));
    }

    [Fact]
    public async Task Run_OnS3WithinTheBudget_ExitsPartialListingThemAndCountsTheOther61()
    {
        var (objects, good, corrupt) = Inputs();
        var bucket = S3TestServer.NewBucket("wc-partial");
        await using var s3 = await S3TestServer.OpenAsync(bucket);
        foreach (var (key, bytes) in objects)
        {
            await s3.PutAsync("wc/" + key, bytes);
        }

        var result = await ProgramRunner.RunAsync(Program, S3TestServer.ProgramEnvironment(), ["run", "--store", $"s3://{bucket}/wc", "--max-failed-inputs", "5%", .. s_job]);

        AssertPartial(result, corrupt);
        var parts = new List<string>();
        foreach (var part in await s3.ListAllAsync("wc/output/"))
        {
            parts.Add(Encoding.UTF8.GetString(await s3.ReadAllBytesAsync(part.Key)));
        }

        Assert.Equal(4, parts.Count);
        Assert.Equal(Count(good), ReadParts(parts));
        Assert.Empty(await s3.ListAllAsync($"wc/_dataflow/runs/{result.Json().GetProperty("runId").GetString()}/data/"));
    }
}
