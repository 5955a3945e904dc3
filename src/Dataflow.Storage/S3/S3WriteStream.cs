using System.Buffers;
using Amazon.S3.Model;

namespace Dataflow.Storage;

/// <summary>
/// Writes an object to S3: one PUT when it fits in one part, otherwise a multipart upload whose parts are uploaded
/// in parallel from the store's part buffers while the caller keeps writing. Memory stays within
/// <see cref="S3PartBuffers.PerUpload"/> parts (<see cref="S3StoreOptions.MaxUploadMemory"/>) whatever the object's
/// size: a writer that gets ahead waits for a part's upload to end before it starts filling another buffer (so
/// that a buffer is either being filled or being sent, not waiting full), and a full part waits for one of the
/// <see cref="S3StoreOptions.MaxConcurrentParts"/> upload slots. The first part that fails for good
/// cancels its siblings, and the upload is aborted; disposing the stream before <see cref="CompleteAsync"/> aborts
/// it too, so no incomplete upload is left behind (and the journal remembers it should the process die). Opened with an
/// owner, it is always a multipart upload, which <see cref="StageAsync"/> leaves open for a publisher to complete.
/// </summary>
internal sealed class S3WriteStream : StagedWriteStream
{
    private const int FirstBufferSize = 64 * 1024;

    private readonly S3ObjectStore _store;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _buffers;
    private readonly PartFailures _failures = new(CancellationToken.None);
    private readonly List<Task<PartETag>> _parts = [];
    private byte[]? _buffer;
    private int _filled;
    private long _length;
    private readonly string? _owner;
    private string? _uploadId;
    private bool _completed;
    private bool _staged;
    private bool _closed;
    private bool _disposed;

    /// <param name="store">The store.</param>
    /// <param name="key">The object's key.</param>
    /// <param name="owner">Where the journal records a staged upload (see <see cref="StagedObject.Owner"/>); none for a plain write.</param>
    public S3WriteStream(S3ObjectStore store, string key, string? owner = null)
    {
        _store = store;
        Key = key;
        _owner = owner;
        _slots = new SemaphoreSlim(store.Options.MaxConcurrentParts, store.Options.MaxConcurrentParts);
        var buffers = S3PartBuffers.PerUpload(store.Options);
        _buffers = new SemaphoreSlim(buffers, buffers);
    }

    public override string Key { get; }

    public override bool CanWrite => !_closed;

    /// <summary>
    /// The size of part <paramref name="number"/> (from 1): the configured size, doubled every 500 parts, at most
    /// 1 GiB (parts are buffered in memory). From the 5 MiB minimum, 10,000 parts cover 6.5 TiB, past S3's 5 TiB
    /// objects (doubling every 1,000 parts would reach only 3.2 TiB under the cap).
    /// </summary>
    internal static long PartSizeFor(long baseSize, int number) =>
        Math.Min(Math.Min(baseSize << ((number - 1) / 500), S3StoreOptions.MaxPartSize), 1L << 30);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // Synchronous callers block while a full part is handed to an upload slot.
        var copy = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            buffer.CopyTo(copy);
            WriteAsync(copy.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfUnusable();
        while (!buffer.IsEmpty)
        {
            var partSize = (int)PartSizeFor(_store.Options.PartSize, _parts.Count + 1);
            if (_filled == partSize)
            {
                // A full part goes out only once more bytes follow it: an object of exactly one part stays one PUT.
                await SendPartAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (_buffer is null)
            {
                // Backpressure: a part's buffer is taken only once the upload holds fewer than its share.
                await WaitAsync(_buffers, cancellationToken).ConfigureAwait(false);
                _buffer = _store.PartBuffers.Rent(_uploadId is null ? Math.Min(FirstBufferSize, partSize) : partSize);
            }
            else if (_filled == _buffer.Length && _buffer.Length < partSize)
            {
                // The first part starts small and grows, so that small objects do not hold a whole part's memory.
                var larger = _store.PartBuffers.Rent(Math.Min(partSize, _buffer.Length * 2));
                _buffer.AsSpan(0, _filled).CopyTo(larger);
                _store.PartBuffers.Return(_buffer);
                _buffer = larger;
            }

            var room = Math.Min(_buffer.Length, partSize) - _filled;
            var n = Math.Min(room, buffer.Length);
            buffer.Span[..n].CopyTo(_buffer.AsSpan(_filled));
            _filled += n;
            _length += n;
            buffer = buffer[n..];
        }
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override async ValueTask<StagedObject> StageAsync(CancellationToken cancellationToken = default)
    {
        if (_owner is null)
        {
            throw new InvalidOperationException($"the write of '{Key}' was not opened to be staged");
        }

        ThrowIfUnusable();
        _closed = true;
        try
        {
            // Always a multipart upload, even of one small (or empty) part: completing it is what publishes.
            if (_uploadId is null || _filled > 0)
            {
                if (_buffer is null)
                {
                    // Nothing was written: the one part is empty.
                    await WaitAsync(_buffers, cancellationToken).ConfigureAwait(false);
                    _buffer = _store.PartBuffers.Rent(1);
                }

                await SendPartAsync(cancellationToken).ConfigureAwait(false);
            }

            var etags = await Task.WhenAll(_parts).ConfigureAwait(false);
            _staged = true;
            return new StagedObject(Key, _uploadId!, _owner, _length, S3ObjectStore.StagedParts(etags));
        }
        catch (Exception ex) when (!_staged)
        {
            await FailAndAbortAsync(ex, cancellationToken).ConfigureAwait(false);
            throw;
        }
        finally
        {
            ReturnBuffer();
        }
    }

    public override async ValueTask<ObjectInfo> CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_owner is not null)
        {
            return await _store.PublishStagedAsync(await StageAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }

        ThrowIfUnusable();
        _closed = true;
        try
        {
            if (_uploadId is null)
            {
                var info = await _store.PutAsync(Key, _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _filled), cancellationToken).ConfigureAwait(false);
                _completed = true;
                return info with { Size = _length };
            }

            if (_filled > 0)
            {
                await SendPartAsync(cancellationToken).ConfigureAwait(false);
            }

            var etags = await Task.WhenAll(_parts).ConfigureAwait(false);
            var response = await _store.RunAsync(Key, "complete the multipart upload", token => _store.Client.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest { BucketName = _store.Bucket, Key = _store.Full(Key), UploadId = _uploadId, PartETags = [.. etags] },
                token), cancellationToken).ConfigureAwait(false);
            _completed = true;
            await _store.Journal.ForgetAsync(Key, _uploadId, CancellationToken.None).ConfigureAwait(false);
            return new ObjectInfo(Key, _length, DateTimeOffset.UtcNow, EntityTag.Normalize(response.ETag));
        }
        catch (Exception ex) when (!_completed)
        {
            await FailAndAbortAsync(ex, cancellationToken).ConfigureAwait(false);
            throw;
        }
        finally
        {
            ReturnBuffer();
        }
    }

    /// <summary>
    /// Aborts the upload after <paramref name="error"/> and throws what is to be reported: the first part's failure, not
    /// the cancellation it caused of its siblings (nor the cancellation the abort asks for); the caller's cancellation
    /// stays a cancellation.
    /// </summary>
    private async Task FailAndAbortAsync(Exception error, CancellationToken cancellationToken)
    {
        await _failures.FailAsync(error).ConfigureAwait(false);
        await AbortAsync().ConfigureAwait(false);
        _failures.Rethrow(error, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CleanUpAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await CleanUpAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async ValueTask CleanUpAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_completed && !_staged)
        {
            _closed = true;
            await AbortAsync().ConfigureAwait(false);
        }

        ReturnBuffer();
        _failures.Dispose();
    }

    private async Task SendPartAsync(CancellationToken cancellationToken)
    {
        if (_uploadId is null)
        {
            var request = new InitiateMultipartUploadRequest { BucketName = _store.Bucket, Key = _store.Full(Key) };
            _store.ApplyEncryption(request);
            var response = await _store.RunAsync(Key, "start a multipart upload", token => _store.Client.InitiateMultipartUploadAsync(request, token), cancellationToken).ConfigureAwait(false);
            _uploadId = response.UploadId;

            // Recorded before the first part, so that the upload can be found and aborted should this process die.
            await _store.Journal.RecordAsync(Key, _uploadId, cancellationToken, _owner).ConfigureAwait(false);
        }

        await WaitAsync(_slots, cancellationToken).ConfigureAwait(false);
        var number = _parts.Count + 1;
        var buffer = _buffer!;
        var length = _filled;
        _buffer = null;
        _filled = 0;
        _parts.Add(UploadPartAsync(number, buffer, length));
    }

    /// <summary>Waits for <paramref name="semaphore"/>; a part that fails meanwhile ends the wait with its failure.</summary>
    private async Task WaitAsync(SemaphoreSlim semaphore, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _failures.Token);
        try
        {
            await semaphore.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A part failed meanwhile: that failure is what the writer learns.
            _failures.ThrowIfFailed();
            throw;
        }
    }

    private async Task<PartETag> UploadPartAsync(int number, byte[] buffer, int length)
    {
        try
        {
            var response = await _store.RunAsync(Key, $"upload part {number}", token => _store.Client.UploadPartAsync(
                new UploadPartRequest
                {
                    BucketName = _store.Bucket,
                    Key = _store.Full(Key),
                    UploadId = _uploadId,
                    PartNumber = number,
                    PartSize = length,
                    InputStream = new MemoryStream(buffer, 0, length, writable: false),
                    UseChunkEncoding = _store.Profile.UseChunkEncoding,
                },
                token), _failures.Token).ConfigureAwait(false);
            return new PartETag(number, response.ETag);
        }
        catch (Exception ex)
        {
            // The first part to fail for good stops its siblings; the upload is aborted by whoever completes or disposes.
            await _failures.FailAsync(ex).ConfigureAwait(false);
            throw;
        }
        finally
        {
            // The buffer goes back before the slot, so that a writer let in never finds the upload over its buffers.
            _store.PartBuffers.Return(buffer);
            _buffers.Release();
            _slots.Release();
        }
    }

    private async Task AbortAsync()
    {
        await _failures.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_parts).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The parts' failures are the failure already reported (or the cancellation just requested).
        }

        if (_uploadId is { } uploadId)
        {
            _uploadId = null;
            try
            {
                await _store.AbortUploadAsync(Key, uploadId, CancellationToken.None).ConfigureAwait(false);
                await _store.Journal.ForgetAsync(Key, uploadId, CancellationToken.None, _owner).ConfigureAwait(false);
            }
            catch (ObjectStoreException)
            {
                // The journal still records the upload: the run's final clean-up, or a later gc, aborts it.
            }
        }
    }

    private void ThrowIfUnusable()
    {
        _failures.ThrowIfFailed();
        ObjectDisposedException.ThrowIf(_closed, this);
    }

    private void ReturnBuffer()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            _store.PartBuffers.Return(buffer);
            _buffers.Release();
        }
    }
}
