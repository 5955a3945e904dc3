namespace Dataflow.Storage;

/// <summary>The kinds of store request <see cref="StoreRequestCounts"/> counts.</summary>
public enum StoreRequestKind
{
    /// <summary>A listing: one page of S3's ListObjectsV2 (or ListMultipartUploads); one <see cref="IObjectStore.ListAsync"/> call on a folder.</summary>
    List,

    /// <summary>A description of one object (S3's HeadObject, the bucket check); a head or identity call on a folder.</summary>
    Head,

    /// <summary>A read: each GetObject (every ranged GET of a read counts); each open for reading on a folder.</summary>
    Get,

    /// <summary>A write: PutObject, and the CreateMultipartUpload and CompleteMultipartUpload of a multipart upload; each open for writing (or create) on a folder.</summary>
    Put,

    /// <summary>One part of a multipart upload (UploadPart); a folder has none.</summary>
    Part,

    /// <summary>A server-side copy: CopyObject or UploadPartCopy; a compose or move on a folder.</summary>
    Copy,

    /// <summary>A deletion: DeleteObject, DeleteObjects (up to 1000 keys) or AbortMultipartUpload; one delete call on a folder.</summary>
    Delete,
}
