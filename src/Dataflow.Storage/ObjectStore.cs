namespace Dataflow.Storage;

/// <summary>Opens object stores by address.</summary>
public static class ObjectStore
{
    /// <summary>
    /// Opens the store at <paramref name="location"/>: a folder path (absolute or relative to the current directory),
    /// a <c>file://</c> URI (the folder is created when missing), or <c>s3://bucket/prefix</c> /
    /// <c>oss://bucket/prefix</c>. Nothing is sent over the network here; see <see cref="OpenAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The address is malformed, names a file rather than a folder, or uses an unsupported scheme.</exception>
    public static IObjectStore Open(string location, ObjectStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        options ??= new ObjectStoreOptions();
        var schemeEnd = location.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd > 0)
        {
            var scheme = location[..schemeEnd].ToLowerInvariant();
            if (S3Address.IsS3Scheme(scheme))
            {
                return OpenS3(location, options.S3);
            }

            if (scheme != "file")
            {
                throw new ArgumentException($"store '{location}': the scheme '{scheme}://' is not supported (supported: a folder path, file://, s3://, oss://)", nameof(location));
            }

            if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || !uri.IsFile)
            {
                throw new ArgumentException($"store '{location}' is not a valid file:// URI", nameof(location));
            }

            return OpenFolder(uri.LocalPath, options.Local);
        }

        return OpenFolder(location, options.Local);
    }

    /// <summary>
    /// Opens the store at <paramref name="location"/> like <see cref="Open"/>, and for S3 checks that the bucket is
    /// reachable with the credentials given, creating it when <see cref="S3StoreOptions.CreateBucketIfMissing"/> is set.
    /// </summary>
    /// <exception cref="ArgumentException">The address is not valid.</exception>
    /// <exception cref="ObjectStoreException">The bucket does not exist (and is not to be created), or access is denied.</exception>
    public static async Task<IObjectStore> OpenAsync(string location, ObjectStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        var store = Open(location, options);
        if (store is S3ObjectStore s3)
        {
            try
            {
                await s3.EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await s3.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        return store;
    }

    /// <summary>Opens the folder at <paramref name="path"/> as a store, creating it when it does not exist.</summary>
    /// <exception cref="ArgumentException">The path names a file, or the folder cannot be created.</exception>
    public static IObjectStore OpenFolder(string path, LocalFolderStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new LocalFolderStore(path, options ?? new LocalFolderStoreOptions());
    }

    /// <summary>Opens <c>s3://bucket/prefix</c> or <c>oss://bucket/prefix</c> as a store.</summary>
    /// <exception cref="ArgumentException">The address or an option is not valid.</exception>
    public static IObjectStore OpenS3(string location, S3StoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        return new S3ObjectStore(S3Address.Parse(location), options ?? new S3StoreOptions());
    }
}
