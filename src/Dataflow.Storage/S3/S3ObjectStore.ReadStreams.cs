using System.Buffers;
using Amazon.S3.Model;

namespace Dataflow.Storage;

/// <summary>The streams a read returns: the body of one GET, resumed when cut off, and a large range fetched in parallel chunks.</summary>
internal sealed partial class S3ObjectStore
{
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
            _etag = EntityTag.Normalize(response.ETag);
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

                    _store.CountRetry("read the object", _key, _failures, ex);

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
    /// into pooled buffers, delivered in order. Memory stays within that many chunks. Every chunk is asked for with
    /// <c>If-Match</c> on one entity tag (the version the read was opened on), so that a replacement mid-read fails
    /// with <see cref="ObjectChangedException"/> instead of mixing versions. A read that began with a GET of its first
    /// bytes (its length unknown until then) streams that body first, with one range fewer fetched meanwhile.
    /// </summary>
    private sealed class ParallelRangeReadStream : ReadOnlyStream
    {
        private readonly S3ObjectStore _store;
        private readonly string _key;
        private readonly string? _etag;
        private readonly long _end;
        private readonly int _chunk;
        private readonly Queue<(Task Fetch, byte[] Buffer, int Length)> _ahead = new();
        private readonly CancellationTokenSource _cancel = new();
        private long _next;
        private ResponseStream? _head;
        private byte[]? _current;
        private int _currentLength;
        private int _position;

        public ParallelRangeReadStream(S3ObjectStore store, string key, long offset, long length, string? etag, ResponseStream? head = null)
        {
            _store = store;
            _key = key;
            _etag = etag;
            _head = head;
            _next = offset + (head?.Length ?? 0);
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

            if (_head is { } head)
            {
                var read = await head.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read > 0)
                {
                    return read;
                }

                _head = null;
                head.Dispose();
                Fill();
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
                _head?.Dispose();
                _head = null;
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
            while (_ahead.Count < _store.Options.MaxConcurrentReads - (_head is null ? 0 : 1) && _next < _end)
            {
                var length = (int)Math.Min(_chunk, _end - _next);
                var buffer = ArrayPool<byte>.Shared.Rent(length);
                _ahead.Enqueue((_store.ReadRangeAsync(_key, _next, buffer.AsMemory(0, length), _etag, _cancel.Token), buffer, length));
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
