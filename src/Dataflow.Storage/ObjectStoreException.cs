namespace Dataflow.Storage;

/// <summary>A store operation failed. The message names the store and, where there is one, the object key.</summary>
public class ObjectStoreException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="location">The store's address.</param>
    /// <param name="key">The object concerned, if any.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public ObjectStoreException(string location, string? key, string message, Exception? innerException = null)
        : base(key is null ? $"{message} (store {location})" : $"{message}: '{key}' (store {location})", innerException)
    {
        Location = location;
        Key = key;
    }

    /// <summary>The store's address.</summary>
    public string Location { get; }

    /// <summary>The object concerned, if any.</summary>
    public string? Key { get; }
}

/// <summary>An object that was needed does not exist.</summary>
public sealed class ObjectNotFoundException : ObjectStoreException
{
    /// <summary>Creates the exception for <paramref name="key"/> in the store at <paramref name="location"/>.</summary>
    public ObjectNotFoundException(string location, string key, Exception? innerException = null)
        : base(location, key, "no such object", innerException)
    {
    }
}

/// <summary>An object is not the version that was expected: its entity tag or size changed since it was recorded.</summary>
public sealed class ObjectChangedException : ObjectStoreException
{
    /// <summary>Creates the exception for <paramref name="key"/> in the store at <paramref name="location"/>.</summary>
    /// <param name="location">The store's address.</param>
    /// <param name="key">The object.</param>
    /// <param name="expected">The entity tag that was expected.</param>
    /// <param name="actual">The entity tag the object has now, if the store said.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public ObjectChangedException(string location, string key, string expected, string? actual, Exception? innerException = null)
        : base(location, key, actual is null ? $"the object changed (expected entity tag {expected})" : $"the object changed (entity tag {actual}, expected {expected})", innerException)
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The entity tag that was expected.</summary>
    public string Expected { get; }

    /// <summary>The entity tag the object has now, if the store said.</summary>
    public string? Actual { get; }
}
