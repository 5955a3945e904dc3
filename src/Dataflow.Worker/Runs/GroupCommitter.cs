using System.Globalization;
using System.Threading.Channels;
using Dataflow.Runs;
using Dataflow.Storage;

namespace Dataflow.Execution.Runs;

/// <summary>
/// Writes the commits of tasks that finish at about the same time as one <see cref="CommitRecord"/> (group
/// commit): a task's commit returns once a record holding its marker is stored. While one record is being
/// written, the next commits gather for the following one, so a run of many small tasks writes far fewer objects
/// than it has tasks, and a run of a few large tasks still commits each one at once.
/// </summary>
internal sealed class GroupCommitter : IAsyncDisposable
{
    private readonly IObjectStore _store;
    private readonly RunLayout _layout;
    private readonly Channel<(CommitMarker Marker, TaskCompletionSource Done)> _queue;
    private readonly Task _writer;
    private readonly string _batchPrefix = Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture);
    private int _batches;

    public GroupCommitter(IObjectStore store, RunLayout layout)
    {
        _store = store;
        _layout = layout;

        // Every waiting task holds at most one entry, so the queue never holds more than the tasks running at once.
        _queue = Channel.CreateUnbounded<(CommitMarker, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Records written so far.</summary>
    public int Batches => Volatile.Read(ref _batches);

    /// <summary>Commits <paramref name="marker"/>: returns when a record holding it is stored, throws if that write failed.</summary>
    public Task CommitAsync(CommitMarker marker)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((marker, done)))
        {
            throw new InvalidOperationException("the run's committer is closed");
        }

        return done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<(CommitMarker Marker, TaskCompletionSource Done)>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                var number = Interlocked.Increment(ref _batches);
                var record = new CommitRecord { RunId = _layout.RunId, Markers = batch.ConvertAll(b => b.Marker) };
                var key = _layout.BatchCommitKey(string.Create(CultureInfo.InvariantCulture, $"{_batchPrefix}-{number:D6}"));

                // Not cancellable: a record either lands whole or not at all, and its tasks wait for the answer.
                await _store.PutAsync(key, RunRecords.Serialize(record), CancellationToken.None).ConfigureAwait(false);
                batch.ForEach(b => b.Done.TrySetResult());
            }
            catch (Exception ex)
            {
                batch.ForEach(b => b.Done.TrySetException(ex));
            }

            batch.Clear();
        }
    }
}
