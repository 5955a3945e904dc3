namespace Dataflow.Execution.Runs;

/// <summary>Counters of one run, updated from many tasks at once.</summary>
internal sealed class RunCounters
{
    private long _bytesRead;
    private long _bytesWritten;
    private int _attempts;
    private int _retries;
    private int _tasksRun;
    private int _failed;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public int Attempts => Volatile.Read(ref _attempts);

    public int Retries => Volatile.Read(ref _retries);

    public int TasksRun => Volatile.Read(ref _tasksRun);

    public int Failed => Volatile.Read(ref _failed);

    public void AddRead(long bytes) => Interlocked.Add(ref _bytesRead, bytes);

    public void AddWritten(long bytes) => Interlocked.Add(ref _bytesWritten, bytes);

    public void AttemptStarted(bool isRetry)
    {
        Interlocked.Increment(ref _attempts);
        if (isRetry)
        {
            Interlocked.Increment(ref _retries);
        }
    }

    public void TaskCommitted() => Interlocked.Increment(ref _tasksRun);

    public void TaskFailed() => Interlocked.Increment(ref _failed);
}
