using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>A store whose writes can leave incomplete multipart uploads behind, and that can find and abort them.</summary>
public interface IIncompleteUploads
{
    /// <summary>
    /// Aborts every incomplete multipart upload of a key under <paramref name="keyPrefix"/>: those recorded in the
    /// store's upload journal (which needs no listing of uploads, so it works on OSS too) and, where the service can
    /// list multipart uploads, any others found that way. Returns how many were aborted.
    /// </summary>
    Task<int> AbortIncompleteUploadsAsync(string keyPrefix, CancellationToken cancellationToken = default);
}
