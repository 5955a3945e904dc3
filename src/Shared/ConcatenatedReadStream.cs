namespace Dataflow;

/// <summary>
/// A read-only stream of several streams one after another, each opened only when the one before it has ended
/// (and disposed then): the subclass says what comes next.
/// </summary>
internal abstract class ConcatenatedReadStream : ReadOnlyStream
{
    private Stream? _current;

    public sealed override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        while (true)
        {
            if (_current is null && (_current = await OpenNextAsync(cancellationToken).ConfigureAwait(false)) is null)
            {
                return 0;
            }

            var n = await _current.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n > 0)
            {
                return n;
            }

            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }
    }

    /// <summary>Opens the next stream, or returns <see langword="null"/> at the end.</summary>
    protected abstract ValueTask<Stream?> OpenNextAsync(CancellationToken cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
        }

        base.Dispose(disposing);
    }
}
