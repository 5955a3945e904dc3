using Dataflow.Storage.Local;

namespace Dataflow.Storage;

/// <summary>Opens object stores by address.</summary>
public static class ObjectStore
{
    /// <summary>
    /// Opens the store at <paramref name="location"/>: a folder path (absolute or relative to the current
    /// directory) or a <c>file://</c> URI. The folder is created when it does not exist.
    /// </summary>
    /// <exception cref="ArgumentException">The address is malformed, names a file rather than a folder, or uses a scheme this build does not support.</exception>
    public static IObjectStore Open(string location, LocalFolderStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        var schemeEnd = location.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd > 0)
        {
            var scheme = location[..schemeEnd].ToLowerInvariant();
            if (scheme != "file")
            {
                throw new ArgumentException($"store '{location}': the scheme '{scheme}://' is not supported by this build (supported: a folder path or file://)", nameof(location));
            }

            if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || !uri.IsFile)
            {
                throw new ArgumentException($"store '{location}' is not a valid file:// URI", nameof(location));
            }

            return OpenFolder(uri.LocalPath, options);
        }

        return OpenFolder(location, options);
    }

    /// <summary>Opens the folder at <paramref name="path"/> as a store, creating it when it does not exist.</summary>
    /// <exception cref="ArgumentException">The path names a file, or the folder cannot be created.</exception>
    public static IObjectStore OpenFolder(string path, LocalFolderStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new LocalFolderStore(path, options ?? new LocalFolderStoreOptions());
    }
}
