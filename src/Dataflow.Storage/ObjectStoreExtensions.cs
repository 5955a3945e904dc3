using System.Buffers;
using Dataflow.Core;

namespace Dataflow.Storage;

/// <summary>Conveniences over <see cref="IObjectStore"/>.</summary>
public static class ObjectStoreExtensions
{
    /// <summary>Writes <paramref name="content"/> as the whole object <paramref name="key"/>, atomically.</summary>
    public static async ValueTask<ObjectInfo> PutAsync(this IObjectStore store, string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var writer = await store.OpenWriteAsync(key, cancellationToken).ConfigureAwait(false);
        await using (writer.ConfigureAwait(false))
        {
            await writer.WriteAsync(content, cancellationToken).ConfigureAwait(false);
            return await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the whole object <paramref name="key"/> into memory; meant for small records.</summary>
    /// <exception cref="ObjectNotFoundException">The object does not exist.</exception>
    public static async ValueTask<byte[]> ReadAllBytesAsync(this IObjectStore store, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var stream = await store.OpenReadAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }
    }

    /// <summary>True when the object exists.</summary>
    public static async ValueTask<bool> ExistsAsync(this IObjectStore store, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await store.HeadAsync(key, cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>Collects a listing into a list.</summary>
    public static async ValueTask<List<ObjectInfo>> ListAllAsync(this IObjectStore store, string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var list = new List<ObjectInfo>();
        await foreach (var info in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            list.Add(info);
        }

        return list;
    }

    /// <summary>
    /// Compares the object <paramref name="key"/> with the concatenation of <paramref name="sources"/> byte for byte,
    /// streaming both (memory stays bounded whatever the sizes). Returns <see langword="null"/> when they are equal,
    /// or a sentence saying where they first differ.
    /// </summary>
    public static async ValueTask<string?> FindDifferenceAsync(this IObjectStore store, string key, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(sources);
        const int Chunk = 1 << 20;
        var expected = ArrayPool<byte>.Shared.Rent(Chunk);
        var actual = ArrayPool<byte>.Shared.Rent(Chunk);
        try
        {
            var output = await store.OpenReadAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (output.ConfigureAwait(false))
            {
                long position = 0;
                foreach (var source in sources)
                {
                    var input = await store.OpenReadAsync(source.Key, source.Offset, source.Length, cancellationToken).ConfigureAwait(false);
                    await using (input.ConfigureAwait(false))
                    {
                        while (true)
                        {
                            var n = await input.ReadAtLeastAsync(expected.AsMemory(0, Chunk), Chunk, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                            if (n == 0)
                            {
                                break;
                            }

                            var m = await output.ReadAtLeastAsync(actual.AsMemory(0, n), n, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                            var common = expected.AsSpan(0, m).CommonPrefixLength(actual.AsSpan(0, m));
                            if (common < m)
                            {
                                return $"'{key}' differs at byte {position + common} (from '{source.Key}')";
                            }

                            if (m < n)
                            {
                                return $"'{key}' ends at byte {position + m}, before the end of '{source.Key}'";
                            }

                            position += n;
                        }
                    }
                }

                return await output.ReadAsync(actual.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) == 0
                    ? null
                    : $"'{key}' is longer than its {position} expected bytes";
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(expected);
            ArrayPool<byte>.Shared.Return(actual);
        }
    }
}
