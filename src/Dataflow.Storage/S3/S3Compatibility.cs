namespace Dataflow.Storage;

/// <summary>
/// The S3-compatible service a store talks to. Each profile sets what that service accepts; see
/// <see cref="S3ProfileSettings"/> and the README's table.
/// </summary>
public enum S3Compatibility
{
    /// <summary>
    /// The most conservative settings, for any S3-compatible server (OpenStack Swift's s3api, Ceph, SeaweedFS, …):
    /// path-style addressing, plain (not aws-chunked) bodies, checksums only where the API requires them, and a
    /// Content-MD5 header on DeleteObjects. The default when an endpoint is given.
    /// </summary>
    Generic,

    /// <summary>Amazon S3 itself: virtual-hosted addressing and the SDK's defaults (aws-chunked bodies, flexible checksums). The default without an endpoint.</summary>
    Aws,

    /// <summary>MinIO: path-style addressing (MinIO serves one host name), plain bodies, checksums where required.</summary>
    Minio,

    /// <summary>
    /// Alibaba Cloud OSS through its S3-compatible API: virtual-hosted addressing only (OSS denies path-style
    /// requests), plain bodies, checksums where required, Content-MD5 on DeleteObjects. OSS does not list
    /// multipart uploads, so incomplete ones are found through the run's journal only. The default for <c>oss://</c>.
    /// </summary>
    Oss,
}

/// <summary>What a compatibility profile sets on the SDK client and its requests.</summary>
/// <param name="ForcePathStyle">Address buckets as <c>https://host/bucket/key</c> rather than <c>https://bucket.host/key</c>.</param>
/// <param name="UseChunkEncoding">Send upload bodies as aws-chunked streams (AWSSDK v4's default); strict servers answer 501.</param>
/// <param name="ChecksumsWhenRequired">Compute and validate checksums only where the API requires them, instead of on every request.</param>
/// <param name="ContentMd5OnDelete">Add a Content-MD5 header to DeleteObjects, which Swift and OSS require and the SDK no longer sends.</param>
/// <param name="CanListMultipartUploads">The service answers ListMultipartUploads, a second safety net for finding incomplete uploads.</param>
internal sealed record S3ProfileSettings(bool ForcePathStyle, bool UseChunkEncoding, bool ChecksumsWhenRequired, bool ContentMd5OnDelete, bool CanListMultipartUploads)
{
    /// <summary>The settings of <paramref name="profile"/>.</summary>
    public static S3ProfileSettings For(S3Compatibility profile) => profile switch
    {
        S3Compatibility.Aws => new(ForcePathStyle: false, UseChunkEncoding: true, ChecksumsWhenRequired: false, ContentMd5OnDelete: false, CanListMultipartUploads: true),
        S3Compatibility.Minio => new(ForcePathStyle: true, UseChunkEncoding: false, ChecksumsWhenRequired: true, ContentMd5OnDelete: true, CanListMultipartUploads: true),
        S3Compatibility.Oss => new(ForcePathStyle: false, UseChunkEncoding: false, ChecksumsWhenRequired: true, ContentMd5OnDelete: true, CanListMultipartUploads: false),
        _ => new(ForcePathStyle: true, UseChunkEncoding: false, ChecksumsWhenRequired: true, ContentMd5OnDelete: true, CanListMultipartUploads: true),
    };
}
