using System.Text.Json;

namespace Dataflow.EndToEnd.Tests.SortedMerge;

/// <summary>
/// The sorted-merge example, run as a process: 300 objects of sorted numbers (every seventh empty) merged by a typed
/// reduce tree and verified against a plain sort; the levels below the last pass binary records, smaller than the text.
/// </summary>
public sealed class SortedMergeTests : IDisposable
{
    private const string Program = "sorted-merge";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public SortedMergeTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static JsonElement AssertVerified(ProgramResult result, int stages, int tasks)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.Equal("sorted-merge", json.GetProperty("job").GetString());
        Assert.Equal(stages, json.GetProperty("stages").GetInt32());
        Assert.Equal(tasks, json.GetProperty("tasks").GetInt32());
        Assert.Equal(0, json.GetProperty("failed").GetInt32());
        return json;
    }

    private static async Task<List<long>> ReadAsync(string path, RecordFileFormat format)
    {
        var numbers = new List<long>();
        await using var reader = RecordStreams.OpenReader(File.OpenRead(path), format, path, RecordCodecs.Varint64, new Dataflow.Examples.SortedMerge.Int64Lines());
        while (await reader.MoveNextAsync())
        {
            numbers.Add(reader.Current);
        }

        return numbers;
    }

    [Fact]
    public async Task Run_Widths75_19_5_1_VerifiedWithBinaryIntermediatesSmallerThanTheText()
    {
        var store = Path.Combine(_root, "store");

        var result = await ProgramRunner.RunAsync(Program, "--store", store, "--numbers", "200", "--widths", "75,19,5,1", "--gc", "never", "--json", "--progress", "none");

        var json = AssertVerified(result, stages: 4, tasks: 100);
        var inputs = Directory.GetFiles(Path.Combine(store, "input")).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(300, inputs.Length);
        Assert.Contains(inputs, f => new FileInfo(f).Length == 0);
        var text = inputs.Sum(f => new FileInfo(f).Length);
        var all = new List<long>();
        foreach (var input in inputs)
        {
            all.AddRange(await ReadAsync(input, RecordFileFormat.Text));
        }

        all.Sort();

        // Kept by --gc never: every level below the last wrote binary records, together the sorted numbers, in fewer bytes than their text.
        var data = Path.Combine(store, "_dataflow", "runs", json.GetProperty("runId").GetString()!, "data");
        for (var stage = 0; stage < 3; stage++)
        {
            var outputs = Directory.GetFiles(Path.Combine(data, $"s{stage:D4}"));
            Assert.Equal(new[] { 75, 19, 5 }[stage], outputs.Length);
            var merged = new List<long>();
            foreach (var output in outputs)
            {
                var numbers = await ReadAsync(output, RecordFileFormat.Binary);
                Assert.Equal(numbers.Order(), numbers);
                merged.AddRange(numbers);
            }

            merged.Sort();
            Assert.Equal(all, merged);
            var binary = outputs.Sum(f => new FileInfo(f).Length);
            Assert.True(binary < text * 0.7, $"level {stage + 1} wrote {binary} bytes of binary records for {text} bytes of text");
        }

        // The last level wrote text, the numbers in order.
        Assert.Equal(all, await ReadAsync(Path.Combine(store, "output", "sorted.txt"), RecordFileFormat.Text));
    }

    [Fact]
    public async Task Run_FanIn4_Verified()
    {
        var result = await ProgramRunner.RunAsync(Program, "--store", Path.Combine(_root, "store"), "--numbers", "100", "--fan-in", "4", "--json", "--progress", "none");

        var json = AssertVerified(result, stages: 5, tasks: 75 + 19 + 5 + 2 + 1);
        Assert.Equal(0, json.GetProperty("intermediateObjectsLeft").GetInt32());
    }

    [Fact]
    public async Task Run_BinaryOutput_VerifiedAndBinary()
    {
        var store = Path.Combine(_root, "store");

        var result = await ProgramRunner.RunAsync(Program, "--store", store, "--files", "40", "--numbers", "100", "--widths", "10,1", "--output-format", "binary", "--output", "output/sorted.bin", "--json", "--progress", "none");

        AssertVerified(result, stages: 2, tasks: 11);
        var numbers = await ReadAsync(Path.Combine(store, "output", "sorted.bin"), RecordFileFormat.Binary);
        Assert.Equal(numbers.Order(), numbers);
        Assert.NotEmpty(numbers);
    }

    [Fact]
    public async Task Run_WorkerProcesses_FindBothOperatorsByNameAndVerify()
    {
        var result = await ProgramRunner.RunAsync(Program, "--store", Path.Combine(_root, "store"), "--files", "40", "--numbers", "100", "--widths", "10,3,1", "--executor", "process", "--concurrency", "2", "--json", "--progress", "none");

        AssertVerified(result, stages: 3, tasks: 14);
    }

    [Fact]
    public async Task Run_UnsortedInput_FailsNamingIt()
    {
        var store = Path.Combine(_root, "store");
        Directory.CreateDirectory(Path.Combine(store, "input"));
        await File.WriteAllTextAsync(Path.Combine(store, "input", "a.txt"), "1\n2\n");
        await File.WriteAllTextAsync(Path.Combine(store, "input", "b.txt"), "5\n3\n");

        var result = await ProgramRunner.RunAsync(Program, "--store", store, "--widths", "1", "--attempts", "1", "--progress", "none");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("input/b.txt", result.ToString(), StringComparison.Ordinal);
        Assert.Contains("not sorted", result.ToString(), StringComparison.Ordinal);
    }
}
