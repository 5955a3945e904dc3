using System.Buffers;
using System.Globalization;
using Amazon.S3.Model;

namespace Dataflow.Storage;

internal sealed partial class S3ObjectStore
{
    public async ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        using var span = ObjectStoreTracing.Start("open_read", Kind, key);
        ValidateKey(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "the length may not be negative");
        }

        if (length == 0 || length >= Options.ParallelReadThreshold)
        {
            // Empty ranges need no GET (S3 cannot express them); large ones are fetched in parallel ranges.
            var info = await HeadAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, key);
            CheckRange(key, info.Size, offset, length!.Value);
            return length == 0 ? new MemoryStream([], writable: false) : new ParallelRangeReadStream(this, key, offset, length.Value);
        }

        GetObjectResponse response;
        try
        {
            response = await GetAsync(key, offset, length, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex is not ObjectNotFoundException && ex.InnerException is Amazon.S3.AmazonS3Exception { ErrorCode: "InvalidRange" })
        {
            // S3 refuses ranges that start at the end; the contract reads them as empty.
            var info = await HeadAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(Location, key);
            CheckRange(key, info.Size, offset, length ?? Math.Max(0, info.Size - offset));
            return new MemoryStream([], writable: false);
        }

        try
        {
            var total = TotalSize(response, offset);
            var count = length ?? total - offset;
            CheckRange(key, total, offset, count);
            if (count >= Options.ParallelReadThreshold)
            {
                // Learnt only now that the object is large: fetch it in parallel ranges instead.
                response.Dispose();
                return new ParallelRangeReadStream(this, key, offset, count);
            }

            return new ResponseStream(this, key, response, offset, count);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private Task<GetObjectResponse> GetAsync(string key, long offset, long? length, CancellationToken cancellationToken, string? ifMatch = null) =>
        RunAsync(key, "read the object", token =>
            {
                var request = new GetObjectRequest { BucketName = Bucket, Key = Full(key), EtagToMatch = ifMatch };
                if (length is { } count)
                {
                    request.ByteRange = new ByteRange(offset, offset + count - 1);
                }
                else if (offset > 0)
                {
                    request.ByteRange = new ByteRange(string.Create(CultureInfo.InvariantCulture, $"bytes={offset}-"));
                }

                return Client.GetObjectAsync(request, token);
            }, cancellationToken);

    /// <summary>Fills <paramref name="destination"/> with the bytes of <paramref name="key"/> from <paramref name="offset"/>, retrying the whole range on transient errors.</summary>
    internal Task ReadRangeAsync(string key, long offset, Memory<byte> destination, CancellationToken cancellationToken) =>
        RunAsync(key, "read the object", async token =>
        {
            var request = new GetObjectRequest { BucketName = Bucket, Key = Full(key), ByteRange = new ByteRange(offset, offset + destination.Length - 1) };
            using var response = await Client.GetObjectAsync(request, token).ConfigureAwait(false);
            var total = TotalSize(response, offset);
            CheckRange(key, total, offset, destination.Length);
            var read = await response.ResponseStream.ReadAtLeastAsync(destination, destination.Length, throwOnEndOfStream: false, token).ConfigureAwait(false);
            if (read != destination.Length)
            {
                throw new IOException($"'{key}': the server sent {read} of the {destination.Length} bytes asked for");
            }

            return true;
        }, cancellationToken);

    private void CheckRange(string key, long size, long offset, long length)
    {
        if (offset > size || length > size - offset)
        {
            throw new ObjectStoreException(Location, key, $"bytes {offset} to {offset + length} lie beyond the end of the {size}-byte object");
        }
    }

    private static long TotalSize(GetObjectResponse response, long offset)
    {
        // "Content-Range: bytes a-b/total" on ranged answers; the plain length otherwise.
        if (response.ContentRange is { } range && range.LastIndexOf('/') is var slash and > 0
            && long.TryParse(range.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var total))
        {
            return total;
        }

        return offset + response.ContentLength;
    }

    /// <summary>
    /// The body of one GET; disposes the response with it and insists on the expected length. A body cut off by a
    /// transient failure (a reset, an early end) is resumed where it stopped, with a ranged GET of the same version
    /// (If-Match on its ETag), up to <see cref="S3StoreOptions.MaxRequestAttempts"/> failures in a row without progress.
    /// </summary>
    private sealed class ResponseStream : ReadOnlyStream
    {
        private readonly S3ObjectStore _store;
        private readonly string _key;
        private readonly string? _etag;
        private GetObjectResponse? _response;
        private long _offset;
        private long _left;
        private int _failures;

        public ResponseStream(S3ObjectStore store, string key, GetObjectResponse response, long offset, long length)
        {
            _store = store;
            _key = key;
            _etag = response.ETag;
            _response = response;
            _offset = offset;
            _left = length;
            Length = length;
        }

        public override long Length { get; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty || _left == 0)
            {
                return 0;
            }

            while (true)
            {
                try
                {
                    var response = _response ?? await ResumeAsync(cancellationToken).ConfigureAwait(false);
                    var n = await response.ResponseStream.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new IOException($"the connection ended {_left} bytes before the end of the object");
                    }

                    _offset += n;
                    _left -= n;
                    _failures = 0;
                    return n;
                }
                catch (Exception ex) when (ex is not ObjectStoreException && S3Errors.IsTransient(ex, cancellationToken))
                {
                    _response?.Dispose();
                    _response = null;
                    if (++_failures >= _store.Options.MaxRequestAttempts)
                    {
                        throw S3Errors.Translate(ex, _store.Location, _store.Bucket, _key, "read the object");
                    }

                    await Task.Delay(_store.Options.RetryDelay * _failures, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _response?.Dispose();
                _response = null;
            }

            base.Dispose(disposing);
        }

        /// <summary>Asks for the rest of the range, of the version read so far.</summary>
        private async Task<GetObjectResponse> ResumeAsync(CancellationToken cancellationToken)
        {
            _response = await _store.GetAsync(_key, _offset, _left, cancellationToken, _etag).ConfigureAwait(false);
            return _response;
        }
    }

    /// <summary>
    /// Reads a large range as chunks fetched in parallel (up to <see cref="S3StoreOptions.MaxConcurrentReads"/> ahead)
    /// into pooled buffers, delivered in order. Memory stays within that many chunks.
    /// </summary>
    private sealed class ParallelRangeReadStream : ReadOnlyStream
    {
        private readonly S3ObjectStore _store;
        private readonly string _key;
        private readonly long _end;
        private readonly int _chunk;
        private readonly Queue<(Task Fetch, byte[] Buffer, int Length)> _ahead = new();
        private readonly CancellationTokenSource _cancel = new();
        private long _next;
        private byte[]? _current;
        private int _currentLength;
        private int _position;

        public ParallelRangeReadStream(S3ObjectStore store, string key, long offset, long length)
        {
            _store = store;
            _key = key;
            _next = offset;
            _end = offset + length;
            _chunk = store.Options.ReadChunkSize;
            Length = length;
            Fill();
        }

        public override long Length { get; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }

            if (_current is null || _position == _currentLength)
            {
                Release();
                if (!_ahead.TryDequeue(out var next))
                {
                    return 0;
                }

                await next.Fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
                (_current, _currentLength, _position) = (next.Buffer, next.Length, 0);
                Fill();
            }

            var n = Math.Min(buffer.Length, _currentLength - _position);
            _current.AsSpan(_position, n).CopyTo(buffer.Span);
            _position += n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _cancel.Cancel();
                Release();
                while (_ahead.TryDequeue(out var pending))
                {
                    // The buffer goes back to the pool only once its fetch has stopped writing to it.
                    try
                    {
                        pending.Fetch.GetAwaiter().GetResult();
                    }
                    catch (Exception)
                    {
                    }

                    ArrayPool<byte>.Shared.Return(pending.Buffer);
                }

                _cancel.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Fill()
        {
            while (_ahead.Count < _store.Options.MaxConcurrentReads && _next < _end)
            {
                var length = (int)Math.Min(_chunk, _end - _next);
                var buffer = ArrayPool<byte>.Shared.Rent(length);
                _ahead.Enqueue((_store.ReadRangeAsync(_key, _next, buffer.AsMemory(0, length), _cancel.Token), buffer, length));
                _next += length;
            }
        }

        private void Release()
        {
            if (_current is { } current)
            {
                _current = null;
                ArrayPool<byte>.Shared.Return(current);
            }
        }
    }
}
