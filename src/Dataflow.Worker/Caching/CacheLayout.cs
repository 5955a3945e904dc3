using System.Buffers;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// Where the task cache lives in a store, shared by every run of the store:
/// <code>
/// _dataflow/cache/entries/&lt;k0k1&gt;/&lt;key&gt;.json        an entry: the outputs a task with this key committed
/// _dataflow/cache/data/&lt;run-id&gt;/s&lt;stage&gt;/t&lt;task&gt;.&lt;attempt&gt;.&lt;output&gt;   intermediate data of a run with the cache on
/// </code>
/// A key is 64 lowercase hex digits (<see cref="TaskKeys"/>); entries are spread over 256 folders by its first two.
/// </summary>
internal static class CacheLayout
{
    private static readonly SearchValues<char> s_hex = SearchValues.Create("0123456789abcdef");

    /// <summary>The prefix of everything the cache holds.</summary>
    public const string Prefix = ObjectKey.ReservedPrefix + "cache/";

    /// <summary>The prefix of the cache's entries.</summary>
    public const string EntriesPrefix = Prefix + "entries/";

    /// <summary>The prefix of the data runs with the cache on wrote.</summary>
    public const string DataPrefix = Prefix + "data/";

    /// <summary>The key of the entry of cache key <paramref name="key"/>.</summary>
    public static string EntryKey(string key) => $"{EntriesPrefix}{key[..2]}/{key}.json";

    /// <summary>The cache key of an entry stored under <paramref name="objectKey"/>, or <see langword="null"/> for any other key.</summary>
    public static string? KeyOfEntry(string objectKey)
    {
        ArgumentNullException.ThrowIfNull(objectKey);
        if (!objectKey.StartsWith(EntriesPrefix, StringComparison.Ordinal) || !objectKey.EndsWith(".json", StringComparison.Ordinal))
        {
            return null;
        }

        var name = objectKey.AsSpan(objectKey.LastIndexOf('/') + 1)[..^".json".Length];
        return name.Length == TaskKeys.HexLength && !name.ContainsAnyExcept(s_hex) ? name.ToString() : null;
    }

    /// <summary>The prefix of the intermediate data of run <paramref name="runId"/> with the cache on.</summary>
    public static string RunDataPrefix(string runId) => $"{DataPrefix}{runId}/";

    /// <summary>The run whose data <paramref name="objectKey"/> is (under <see cref="DataPrefix"/>), or <see langword="null"/>.</summary>
    public static string? RunOfData(string objectKey)
    {
        ArgumentNullException.ThrowIfNull(objectKey);
        if (!objectKey.StartsWith(DataPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var slash = objectKey.IndexOf('/', DataPrefix.Length);
        return slash > DataPrefix.Length ? objectKey[DataPrefix.Length..slash] : null;
    }
}
