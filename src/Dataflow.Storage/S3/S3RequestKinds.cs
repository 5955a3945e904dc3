namespace Dataflow.Storage;

/// <summary>
/// The kind of an S3 HTTP request, for <see cref="StoreRequests"/>: told from its method, its query and the copy
/// source header, so that every request the store sends is counted where it is sent — retries, the parts of a write
/// stream's background uploads and the upload journal's records included.
/// </summary>
internal static class S3RequestKinds
{
    private const string CopySource = "x-amz-copy-source";

    public static StoreRequestKind Of(HttpRequestMessage request)
    {
        // The address as the SDK built it: no copy of it is made to look at its query.
        var uri = request.RequestUri?.OriginalString ?? "";
        var queryStart = uri.IndexOf('?', StringComparison.Ordinal);
        var query = queryStart < 0 ? ReadOnlySpan<char>.Empty : uri.AsSpan(queryStart + 1);
        var method = request.Method;
        if (method == HttpMethod.Head)
        {
            return StoreRequestKind.Head;
        }

        if (method == HttpMethod.Get)
        {
            // ListObjectsV2 (list-type=2), ListMultipartUploads (uploads); GetBucketLocation (location) checks the bucket.
            return Has(query, "list-type") || Has(query, "uploads") ? StoreRequestKind.List
                : Has(query, "location") ? StoreRequestKind.Head
                : StoreRequestKind.Get;
        }

        if (method == HttpMethod.Put)
        {
            return request.Headers.Contains(CopySource) ? StoreRequestKind.Copy
                : Has(query, "partNumber") ? StoreRequestKind.Part
                : StoreRequestKind.Put;
        }

        if (method == HttpMethod.Post)
        {
            // DeleteObjects (delete); CreateMultipartUpload (uploads) and CompleteMultipartUpload (uploadId) are writes.
            return Has(query, "delete") ? StoreRequestKind.Delete : StoreRequestKind.Put;
        }

        // DELETE: DeleteObject, AbortMultipartUpload.
        return method == HttpMethod.Delete ? StoreRequestKind.Delete : StoreRequestKind.Get;
    }

    /// <summary>True when <paramref name="query"/> has parameter <paramref name="name"/> (with a value or without).</summary>
    private static bool Has(ReadOnlySpan<char> query, string name)
    {
        while (!query.IsEmpty)
        {
            var end = query.IndexOf('&');
            var parameter = end < 0 ? query : query[..end];
            var equals = parameter.IndexOf('=');
            if ((equals < 0 ? parameter : parameter[..equals]).Equals(name, StringComparison.Ordinal))
            {
                return true;
            }

            query = end < 0 ? [] : query[(end + 1)..];
        }

        return false;
    }
}
