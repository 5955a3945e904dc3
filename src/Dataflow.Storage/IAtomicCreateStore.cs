namespace Dataflow.Storage;

/// <summary>
/// An object store that can create an object only while no object has its key, atomically: of several writers racing
/// for one key, exactly one succeeds, and no reader ever sees a part of what it wrote. A folder store can (a hard link
/// of a complete temporary file); a store that cannot does not implement this, and its callers fall back on what they
/// did before.
/// </summary>
public interface IAtomicCreateStore
{
    /// <summary>Creates object <paramref name="key"/> holding <paramref name="content"/>, unless an object has that key.</summary>
    /// <returns><see langword="true"/> when this call created the object; <see langword="false"/> when an object with the key was there.</returns>
    /// <exception cref="ArgumentException">The key is not valid.</exception>
    /// <exception cref="ObjectStoreException">The store refused or failed the write; the message names the key.</exception>
    ValueTask<bool> TryCreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default);
}
