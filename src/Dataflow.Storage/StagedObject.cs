using System.Globalization;
using System.Security.Cryptography;

namespace Dataflow.Storage;

/// <summary>
/// An object written under its final key but not yet visible there (on S3, a multipart upload whose parts are all
/// uploaded and which is left open): <see cref="IObjectStore.PublishStagedAsync"/> makes it appear, without copying
/// a byte. Whoever holds this record can publish it, from any process.
/// </summary>
/// <param name="Key">The key the object appears under when published.</param>
/// <param name="UploadId">The store's name for the unpublished object (S3's upload id).</param>
/// <param name="Owner">
/// The key the store's upload journal records it under: <see cref="IObjectStore.AbortIncompleteUploadsAsync"/> of any
/// prefix of <paramref name="Owner"/> discards it while it is unpublished.
/// </param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Parts">Its parts, in order, with the entity tags the store gave them.</param>
public sealed record StagedObject(string Key, string UploadId, string Owner, long Size, IReadOnlyList<StagedPart> Parts)
{
    /// <summary>
    /// The entity tag the published object has, where the parts' tags tell it (S3's multipart tag: the MD5 of the parts'
    /// MD5s, a dash and the number of parts); <see langword="null"/> when a part's tag is not 32 hexadecimal digits.
    /// Where parts' tags are not MD5s of their bytes (encryption with KMS or customer keys), this may not be the
    /// published tag: a publisher that finds the upload gone then takes the object at the key for another.
    /// </summary>
    public string? PublishedETag()
    {
        if (Parts.Count == 0)
        {
            return null;
        }

        var digests = new byte[16 * Parts.Count];
        for (var i = 0; i < Parts.Count; i++)
        {
            var tag = Parts[i].ETag.Trim('"');
            if (tag.Length != 32 || !tag.All(char.IsAsciiHexDigit))
            {
                return null;
            }

            Convert.FromHexString(tag).CopyTo(digests, 16 * i);
        }

#pragma warning disable CA5351 // S3's multipart entity tag is MD5 by definition; it identifies a version, it guards no secret.
        var digest = MD5.HashData(digests);
#pragma warning restore CA5351
        return string.Create(CultureInfo.InvariantCulture, $"\"{Convert.ToHexStringLower(digest)}-{Parts.Count}\"");
    }
}

/// <summary>One part of a <see cref="StagedObject"/>.</summary>
/// <param name="Number">Its number, from 1.</param>
/// <param name="ETag">The entity tag the store gave it.</param>
public sealed record StagedPart(int Number, string ETag);

/// <summary>
/// A write stream that can leave what it wrote unpublished under its key (<see cref="StageAsync"/>) for another step,
/// or process, to publish later; <see cref="ObjectWriteStream.CompleteAsync"/> stages and publishes at once.
/// </summary>
public abstract class StagedWriteStream : ObjectWriteStream
{
    /// <summary>
    /// Uploads everything written and leaves it unpublished: nothing is visible under <see cref="ObjectWriteStream.Key"/>
    /// until <see cref="IObjectStore.PublishStagedAsync"/>. Disposing the stream afterwards does not discard it.
    /// </summary>
    public abstract ValueTask<StagedObject> StageAsync(CancellationToken cancellationToken = default);
}
