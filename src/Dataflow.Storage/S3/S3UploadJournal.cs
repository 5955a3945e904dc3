using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Runs;

namespace Dataflow.Storage.S3;

/// <summary>
/// Remembers every multipart upload the store starts, as a small object written before the first part and deleted
/// when the upload completes or is aborted. Uploads of a run's keys (<c>_dataflow/runs/&lt;id&gt;/…</c>) are recorded
/// under <c>_dataflow/runs/&lt;id&gt;/uploads/</c>, others under <c>_dataflow/uploads/</c>. A crashed writer leaves its
/// record behind, so the run's final clean-up — or a later <c>gc</c> — aborts the upload without listing multipart
/// uploads, which OSS cannot do.
/// </summary>
internal sealed class S3UploadJournal(S3ObjectStore store)
{
    private const string GlobalPrefix = RunLayout.ReservedPrefix + "uploads/";

    /// <summary>The journal folder of uploads of <paramref name="key"/>.</summary>
    public static string PrefixFor(string key)
    {
        if (key.StartsWith(RunLayout.RunsPrefix, StringComparison.Ordinal))
        {
            var end = key.IndexOf('/', RunLayout.RunsPrefix.Length);
            if (end > 0)
            {
                return key[..(end + 1)] + "uploads/";
            }
        }

        return GlobalPrefix;
    }

    public async Task RecordAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        var entry = JsonSerializer.SerializeToUtf8Bytes(new UploadEntry(key, uploadId, DateTimeOffset.UtcNow), JournalJsonContext.Default.UploadEntry);
        await store.PutAsync(EntryKey(key, uploadId), entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the record of an upload that completed or was aborted. Best effort: a record left behind only makes a
    /// later clean-up try to abort an upload that no longer exists, which it takes in its stride; it must not fail a
    /// write that has already succeeded.
    /// </summary>
    public async Task ForgetAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            await store.DeleteAsync([EntryKey(key, uploadId)], cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException)
        {
        }
    }

    /// <summary>Aborts the recorded uploads of keys under <paramref name="keyPrefix"/> and forgets them; returns how many were still open.</summary>
    public async Task<int> AbortRecordedAsync(string keyPrefix, CancellationToken cancellationToken)
    {
        var journals = new HashSet<string>(StringComparer.Ordinal) { PrefixFor(keyPrefix) };
        if (!keyPrefix.StartsWith(RunLayout.RunsPrefix, StringComparison.Ordinal) && RunLayout.RunsPrefix.StartsWith(keyPrefix, StringComparison.Ordinal))
        {
            // A prefix that covers runs: every run's journal counts too.
            await foreach (var info in store.ListAsync(RunLayout.RunsPrefix, cancellationToken).ConfigureAwait(false))
            {
                if (info.Key.Contains("/uploads/", StringComparison.Ordinal))
                {
                    journals.Add(PrefixFor(info.Key));
                }
            }
        }

        var aborted = 0;
        foreach (var journal in journals)
        {
            var entries = new List<string>();
            await foreach (var info in store.ListAsync(journal, cancellationToken).ConfigureAwait(false))
            {
                entries.Add(info.Key);
            }

            foreach (var entryKey in entries)
            {
                UploadEntry? entry;
                try
                {
                    var stream = await store.OpenReadAsync(entryKey, cancellationToken: cancellationToken).ConfigureAwait(false);
                    await using (stream.ConfigureAwait(false))
                    {
                        entry = await JsonSerializer.DeserializeAsync(stream, JournalJsonContext.Default.UploadEntry, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (ObjectNotFoundException)
                {
                    continue;
                }
                catch (JsonException)
                {
                    entry = null;
                }

                if (entry is not null && !entry.Key.StartsWith(keyPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                if (entry is not null && await store.AbortUploadAsync(entry.Key, entry.UploadId, cancellationToken).ConfigureAwait(false))
                {
                    aborted++;
                }

                await store.DeleteAsync([entryKey], cancellationToken).ConfigureAwait(false);
            }
        }

        return aborted;
    }

    private static string EntryKey(string key, string uploadId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key + "\n" + uploadId));
        return PrefixFor(key) + Convert.ToHexStringLower(hash, 0, 16) + ".json";
    }
}

/// <summary>One journal record: an upload that was started and not yet completed or aborted.</summary>
internal sealed record UploadEntry(string Key, string UploadId, DateTimeOffset StartedAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(UploadEntry))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;
