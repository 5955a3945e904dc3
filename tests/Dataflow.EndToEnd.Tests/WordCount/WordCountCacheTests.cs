namespace Dataflow.EndToEnd.Tests.WordCount;

/// <summary>examples/word-count with the task cache, its tasks in worker processes: warm runs, and one input object changed.</summary>
public sealed class WordCountCacheTests : IDisposable
{
    private const string Program = "word-count";

    // 6 objects of 256 KiB and one of 1.5 MiB in 512 KiB splits: 9 map tasks, then 8 reduce tasks.
    private static readonly string[] s_corpus = ["--size", "256KiB", "--objects", "6", "--large-size", "1536KiB", "--seed", "5"];

    private readonly string _store = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"), "store");

    public void Dispose()
    {
        var root = Path.GetDirectoryName(_store)!;
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private async Task<(int Run, int Cached)> RunVerifiedAsync()
    {
        var result = await ProgramRunner.RunAsync(
            Program, "run", "--store", _store, "--reducers", "8", "--split-size", "512KiB", "--executor", "process", "--cache", "on", "--overwrite", "--progress", "none", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Equal(17, json.GetProperty("tasks").GetInt32());
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
        return (json.GetProperty("tasksRun").GetInt32(), json.GetProperty("tasksCached").GetInt32());
    }

    private Dictionary<string, byte[]> Parts() =>
        Directory.GetFiles(Path.Combine(_store, "output")).ToDictionary(p => Path.GetFileName(p), File.ReadAllBytes);

    [Fact]
    public async Task Run_WarmThenOneObjectChanged_RunsItsMapTaskAndEveryReducerAndCountsRight()
    {
        var generated = await ProgramRunner.RunAsync(Program, ["generate", "--store", _store, .. s_corpus]);
        Assert.True(generated.ExitCode == 0, generated.ToString());

        Assert.Equal((17, 0), await RunVerifiedAsync());
        var cold = Parts();
        Assert.Equal((0, 17), await RunVerifiedAsync());
        var warm = Parts();
        Assert.Equal(cold.Keys.Order(StringComparer.Ordinal), warm.Keys.Order(StringComparer.Ordinal));
        Assert.All(cold, part => Assert.Equal(part.Value, warm[part.Key]));

        // A few words more in the smallest object: still one split, so its map task and the 8 reducers that read every
        // map task's output have other keys; the other 8 map tasks are taken from the cache. The program's own check
        // (a streaming pass over the inputs) says whether the counts are right.
        var smallest = Directory.GetFiles(Path.Combine(_store, "input")).OrderBy(f => new FileInfo(f).Length).ThenBy(f => f, StringComparer.Ordinal).First();
        await File.AppendAllTextAsync(smallest, "zebra quagga zebra\n");

        Assert.Equal((9, 8), await RunVerifiedAsync());
        Assert.Equal((0, 17), await RunVerifiedAsync());
    }
}
