namespace Dataflow.EndToEnd.Tests;

/// <summary>A run's commit records in a folder store, as the tests that kill and resume runs count them.</summary>
internal static class CommitFiles
{
    /// <summary>Per-task commit records by task ("stage/index") under <paramref name="commits"/>, each task's record file names sorted.</summary>
    public static Dictionary<string, List<string>> ByTask(string commits)
    {
        var files = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (!Directory.Exists(commits))
        {
            return files;
        }

        foreach (var path in Directory.GetFiles(commits, "t*.json", SearchOption.AllDirectories))
        {
            var stage = int.Parse(Path.GetFileName(Path.GetDirectoryName(path)!)[1..], System.Globalization.CultureInfo.InvariantCulture);
            var name = Path.GetFileName(path);
            var task = int.Parse(name[1..name.IndexOf('.', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            var key = $"{stage}/{task}";
            if (!files.TryGetValue(key, out var list))
            {
                files[key] = list = [];
            }

            list.Add(name);
            list.Sort(StringComparer.Ordinal);
        }

        return files;
    }
}
