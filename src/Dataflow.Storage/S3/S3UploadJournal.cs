using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>
/// Remembers every multipart upload the store starts, as a small object written before the first part and deleted
/// when the upload completes or is aborted. The record of an upload of <c>k</c> is kept at
/// <c>_dataflow/uploads/k/&lt;hash&gt;.json</c>: the journal mirrors the keys, so the uploads of every key under a
/// prefix are found by listing the journal under the same prefix, whoever chose the prefix (a run's folder, an output
/// folder). A crashed writer leaves its record behind, so a later clean-up aborts the upload without listing multipart
/// uploads, which OSS cannot do. Records of keys too long to mirror are kept under <c>_dataflow/uploads/~long/</c>.
/// </summary>
internal sealed class S3UploadJournal(S3ObjectStore store)
{
    private readonly int _storePrefixBytes = Encoding.UTF8.GetByteCount(store.Full(string.Empty));

    /// <summary>The prefix of the journal.</summary>
    public const string Prefix = ObjectKey.ReservedPrefix + "uploads/";

    /// <summary>Where records of keys too long to mirror are kept.</summary>
    public const string LongKeysPrefix = Prefix + "~long/";

    // A record's name after the key: "/" + 32 hex digits + ".json".
    private const int RecordNameLength = 1 + 32 + 5;

    /// <summary>
    /// The journal folder of uploads of <paramref name="key"/>, or of keys under a prefix, in a store whose keys are
    /// <paramref name="storePrefixBytes"/> bytes longer on the server (the store's own prefix in its bucket).
    /// </summary>
    public static string PrefixFor(string key, int storePrefixBytes = 0) =>
        storePrefixBytes + Encoding.UTF8.GetByteCount(key) + Prefix.Length + RecordNameLength <= ObjectKey.MaxUtf8Bytes
            ? Prefix + key
            : LongKeysPrefix;

    /// <summary>Records an upload of <paramref name="key"/>, under <paramref name="owner"/>'s place in the journal if given (a staged object's owner), else the key's.</summary>
    public async Task RecordAsync(string key, string uploadId, CancellationToken cancellationToken, string? owner = null)
    {
        var entry = JsonSerializer.SerializeToUtf8Bytes(new UploadEntry(key, uploadId, DateTimeOffset.UtcNow, owner), JournalJsonContext.Default.UploadEntry);
        await store.PutAsync(EntryKey(owner ?? key, uploadId), entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the record of an upload that completed or was aborted. Best effort: a record left behind only makes a
    /// later clean-up try to abort an upload that no longer exists, which it takes in its stride; it must not fail a
    /// write that has already succeeded.
    /// </summary>
    public async Task ForgetAsync(string key, string uploadId, CancellationToken cancellationToken, string? owner = null)
    {
        try
        {
            await store.DeleteAsync([EntryKey(owner ?? key, uploadId)], cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException)
        {
        }
    }

    /// <summary>Aborts the recorded uploads of keys under <paramref name="keyPrefix"/> and forgets them; returns how many were still open.</summary>
    public async Task<int> AbortRecordedAsync(string keyPrefix, CancellationToken cancellationToken)
    {
        // Records of long keys are found by reading them: their names do not say their key.
        var journals = new HashSet<string>(StringComparer.Ordinal) { PrefixFor(keyPrefix, _storePrefixBytes), LongKeysPrefix };
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

                if (entry is not null && !(entry.Owner ?? entry.Key).StartsWith(keyPrefix, StringComparison.Ordinal))
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

    private string EntryKey(string key, string uploadId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key + "\n" + uploadId));
        var folder = PrefixFor(key, _storePrefixBytes);
        return (folder == LongKeysPrefix ? folder : folder + "/") + Convert.ToHexStringLower(hash, 0, 16) + ".json";
    }
}

/// <summary>One journal record: an upload that was started and not yet completed or aborted.</summary>
/// <param name="Key">The key being uploaded.</param>
/// <param name="UploadId">The upload.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="Owner">For a staged object, the key it is recorded under (see <see cref="StagedObject.Owner"/>).</param>
internal sealed record UploadEntry(string Key, string UploadId, DateTimeOffset StartedAt, string? Owner = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(UploadEntry))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;
