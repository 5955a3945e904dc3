using System.Text;
using System.Text.Json;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// A set of a plan's tasks stored compactly, as ranges per stage: <c>{"stages":[[[0,255]],[[0,126],[128,128]],…]}</c>
/// (the tasks a run with the cache did not need: <see cref="RunLayout.CacheNotNeededKey"/>).
/// </summary>
internal static class TaskRanges
{
    /// <summary>The tasks as UTF-8 JSON.</summary>
    public static byte[] Serialize(Plan plan, IEnumerable<TaskId> tasks)
    {
        var byStage = plan.Stages.Select(_ => new List<int>()).ToArray();
        foreach (var id in tasks)
        {
            byStage[id.Stage].Add(id.Index);
        }

        var json = new StringBuilder("{\"stages\":[");
        for (var s = 0; s < byStage.Length; s++)
        {
            json.Append(s == 0 ? "[" : ",[");
            var indexes = byStage[s];
            indexes.Sort();
            for (var i = 0; i < indexes.Count;)
            {
                var first = indexes[i];
                var last = first;
                while (++i < indexes.Count && indexes[i] == last + 1)
                {
                    last = indexes[i];
                }

                json.Append(json[^1] == '[' ? "" : ",").Append('[').Append(first).Append(',').Append(last).Append(']');
            }

            json.Append(']');
        }

        return Encoding.UTF8.GetBytes(json.Append("]}").ToString());
    }

    /// <summary>The tasks the stored ranges hold.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such ranges.</exception>
    public static List<TaskId> Parse(ReadOnlySpan<byte> utf8Json, string key)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8Json.ToArray());
            var tasks = new List<TaskId>();
            var stage = 0;
            foreach (var ranges in document.RootElement.GetProperty("stages").EnumerateArray())
            {
                foreach (var range in ranges.EnumerateArray())
                {
                    for (var t = range[0].GetInt32(); t <= range[1].GetInt32(); t++)
                    {
                        tasks.Add(new TaskId(stage, t));
                    }
                }

                stage++;
            }

            return tasks;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            throw new InvalidDataException($"'{key}' is not a record of task ranges: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The tasks a run with the cache did not need (<see cref="RunLayout.CacheNotNeededKey"/>): none when it stored no
    /// such record (a run without the cache, or one whose every task was looked up).
    /// </summary>
    public static async Task<HashSet<TaskId>> ReadNotNeededAsync(IObjectStore store, RunLayout layout, CancellationToken cancellationToken)
    {
        try
        {
            return [.. Parse(await store.ReadAllBytesAsync(layout.CacheNotNeededKey, cancellationToken).ConfigureAwait(false), layout.CacheNotNeededKey)];
        }
        catch (ObjectNotFoundException)
        {
            return [];
        }
    }
}
