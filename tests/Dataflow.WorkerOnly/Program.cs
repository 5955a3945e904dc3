using System.Text;
using Dataflow.Core;
using Dataflow.Worker;

// Runs a reduce-tree merge on the local executor in a temporary folder store, checks the merged bytes and prints
// every assembly loaded in this process. Exit code 0 when the output is right, 1 otherwise.
var folder = Path.Combine(Path.GetTempPath(), "dataflow-worker-only-" + Guid.NewGuid().ToString("N"));
try
{
    var inputFolder = Directory.CreateDirectory(Path.Combine(folder, "input"));
    var expected = new StringBuilder();
    for (var i = 0; i < 16; i++)
    {
        var text = $"line {i:D2}\n";
        await File.WriteAllTextAsync(Path.Combine(inputFolder.FullName, $"part-{i:D2}.txt"), text);
        expected.Append(text);
    }

    var job = Job.Named("worker-only")
        .FromPrefix("input/")
        .ReduceTree(fanIn: 2, new ConcatOperator())
        .WriteTo("output/merged.txt");
    var result = await JobRunner.RunInStoreAsync(folder, job);

    var merged = await File.ReadAllTextAsync(Path.Combine(folder, "output", "merged.txt"));
    var verified = merged == expected.ToString();
    Console.WriteLine($"verified: {verified}");
    Console.WriteLine($"summary: {result.Summary.ToJson()}");
    foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Order(StringComparer.Ordinal))
    {
        Console.WriteLine($"assembly: {assembly}");
    }

    return verified ? 0 : 1;
}
finally
{
    if (Directory.Exists(folder))
    {
        Directory.Delete(folder, recursive: true);
    }
}
