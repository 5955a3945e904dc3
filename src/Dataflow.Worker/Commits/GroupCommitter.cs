using System.Globalization;
using System.Threading.Channels;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// Writes the commits of tasks that finish at about the same time as one <see cref="CommitRecord"/> (group
/// commit): a task's commit returns once a record holding its marker is stored. While one record is being
/// written, the next commits gather for the following one; and while the executor is busy with tasks that are about
/// to commit (see the <c>busy</c> callback), the committer waits for them (at most <see cref="MaxGatherDelay"/>) so
/// that their commits join the same record. A run of many small tasks thus writes a few records per tree level, and
/// a run of large tasks still commits each one within milliseconds.
/// </summary>
internal sealed class GroupCommitter : IAsyncDisposable
{
    private readonly IObjectStore _store;
    private readonly RunLayout _layout;
    private readonly Channel<(CommitMarker Marker, TaskCompletionSource Done)> _queue;
    private readonly Task _writer;
    private readonly string _batchPrefix = Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture);
    private readonly Func<int, bool> _busy;
    private readonly TimeProvider _time;
    private readonly Func<Task>? _ready;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _batches;
    private int _waiting;

    /// <param name="store">Where records go.</param>
    /// <param name="layout">The run's keys.</param>
    /// <param name="busy">
    /// Given the number of commits waiting to be stored, whether tasks are under way whose commits are worth waiting
    /// for; asked again at every new commit.
    /// </param>
    /// <param name="time">The clock of the gathering delay.</param>
    /// <param name="ready">
    /// Awaited before the first record is written, e.g. the confirmation that the run's lease is this driver's: a
    /// driver that lost a race for the lease commits nothing. Its failure fails the commits that waited for it.
    /// </param>
    public GroupCommitter(IObjectStore store, RunLayout layout, Func<int, bool>? busy = null, TimeProvider? time = null, Func<Task>? ready = null)
    {
        _ready = ready;
        _store = store;
        _layout = layout;
        _busy = busy ?? (_ => false);
        _time = time ?? TimeProvider.System;

        // Every waiting task holds at most one entry, so the queue never holds more than the tasks running at once.
        _queue = Channel.CreateUnbounded<(CommitMarker, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The longest a commit waits for running operators to join its record.</summary>
    public static readonly TimeSpan MaxGatherDelay = TimeSpan.FromMilliseconds(2);

    /// <summary>Commits handed over and not yet stored.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Commits <paramref name="marker"/>: returns when a record holding it is stored, throws if that write failed.</summary>
    public Task CommitAsync(CommitMarker marker)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref _waiting);
        if (!_queue.Writer.TryWrite((marker, done)))
        {
            Interlocked.Decrement(ref _waiting);
            throw new InvalidOperationException("the run's committer is closed");
        }

        // Wake a gathering committer: this may have been the commit it waited for.
        Volatile.Read(ref _wake).TrySetResult();
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
        Task? ready = null;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            ready ??= _ready?.Invoke() ?? Task.CompletedTask;
            var started = _time.GetTimestamp();
            while (_busy(Waiting) && MaxGatherDelay - _time.GetElapsedTime(started) is { Ticks: > 0 } left)
            {
                // Re-arm the signal before looking again, so that a commit arriving in between is not missed.
                var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _wake, wake);
                if (_busy(Waiting))
                {
                    await Task.WhenAny(wake.Task, Task.Delay(left, _time)).ConfigureAwait(false);
                }
            }

            while (reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                var number = Interlocked.Increment(ref _batches);
                var record = new CommitRecord { RunId = _layout.RunId, Markers = batch.ConvertAll(b => b.Marker) };
                var key = _layout.BatchCommitKey(string.Create(CultureInfo.InvariantCulture, $"{_batchPrefix}-{number:D6}"));

                await ready.ConfigureAwait(false);

                // Not cancellable: a record either lands whole or not at all, and its tasks wait for the answer.
                await _store.PutAsync(key, RunRecords.Serialize(record), CancellationToken.None).ConfigureAwait(false);
                Interlocked.Add(ref _waiting, -batch.Count);
                batch.ForEach(b => b.Done.TrySetResult());
            }
            catch (Exception ex)
            {
                Interlocked.Add(ref _waiting, -batch.Count);
                batch.ForEach(b => b.Done.TrySetException(ex));
            }

            batch.Clear();
        }
    }
}
