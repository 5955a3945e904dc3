namespace Dataflow.Worker;

/// <summary>Counters of one run, updated from many tasks at once; each update is also published as a metric (<see cref="DataflowMetrics"/>).</summary>
internal sealed class RunCounters(string job)
{
    private readonly KeyValuePair<string, object?> _job = new(DataflowMetrics.JobTag, job);
    private RunCounters? _run;
    private long _bytesRead;
    private long _bytesWritten;
    private int _attempts;
    private int _retries;
    private int _tasksRun;
    private int _failed;
    private long _storeRetries;
    private int _speculated;
    private int _speculationsWon;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public int Attempts => Volatile.Read(ref _attempts);

    public int Retries => Volatile.Read(ref _retries);

    public int TasksRun => Volatile.Read(ref _tasksRun);

    public int Failed => Volatile.Read(ref _failed);

    public long StoreRetries => Interlocked.Read(ref _storeRetries);

    /// <summary>Backup attempts started beside stragglers (counted in <see cref="Attempts"/> too, not in <see cref="Retries"/>).</summary>
    public int Speculated => Volatile.Read(ref _speculated);

    /// <summary>Backup attempts that committed before the attempt they backed up.</summary>
    public int SpeculationsWon => Volatile.Read(ref _speculationsWon);

    /// <summary>Counts a backup attempt that starts now (after <see cref="AttemptStarted"/>).</summary>
    public void AttemptSpeculated()
    {
        Interlocked.Increment(ref _speculated);
        DataflowMetrics.TasksSpeculated.Add(1, _job);
    }

    /// <summary>Counts a backup attempt that won its task.</summary>
    public void SpeculationWon() => Interlocked.Increment(ref _speculationsWon);

    /// <summary>Counts store requests retried; <paramref name="publish"/> false for retries another process published already.</summary>
    public void AddStoreRetries(long requests, bool publish = true)
    {
        if (requests <= 0)
        {
            return;
        }

        Interlocked.Add(ref _storeRetries, requests);
        if (publish)
        {
            DataflowMetrics.StoreRetries.Add(requests, _job);
        }
    }

    /// <summary>
    /// Counters of one attempt: the bytes it reads and writes count here and in this run's counters (which publish
    /// them as metrics), so that the run report can say what each attempt moved.
    /// </summary>
    public RunCounters ForAttempt() => new(job) { _run = this };

    public void AddRead(long bytes)
    {
        Interlocked.Add(ref _bytesRead, bytes);
        if (_run is { } run)
        {
            run.AddRead(bytes);
        }
        else
        {
            DataflowMetrics.BytesRead.Add(bytes, _job);
        }
    }

    public void AddWritten(long bytes)
    {
        Interlocked.Add(ref _bytesWritten, bytes);
        if (_run is { } run)
        {
            run.AddWritten(bytes);
        }
        else
        {
            DataflowMetrics.BytesWritten.Add(bytes, _job);
        }
    }

    /// <summary>Counts bytes a store composed server-side: read and written, and composed.</summary>
    public void AddComposed(long bytes)
    {
        AddRead(bytes);
        AddWritten(bytes);
        DataflowMetrics.BytesComposed.Add(bytes, _job);
    }

    public void AttemptStarted(string stage, bool isRetry)
    {
        Interlocked.Increment(ref _attempts);
        DataflowMetrics.TasksStarted.Add(1, _job, Stage(stage));
        if (isRetry)
        {
            Interlocked.Increment(ref _retries);
            DataflowMetrics.TasksRetried.Add(1, _job, Stage(stage));
        }
    }

    public void TaskCommitted(string stage)
    {
        Interlocked.Increment(ref _tasksRun);
        DataflowMetrics.TasksCommitted.Add(1, _job, Stage(stage));
    }

    public void TaskFailed(string stage)
    {
        Interlocked.Increment(ref _failed);
        DataflowMetrics.TasksFailed.Add(1, _job, Stage(stage));
    }

    /// <summary>Records the duration of a successful attempt of a task of <paramref name="stage"/>.</summary>
    public void AttemptSucceeded(string stage, TimeSpan duration) => DataflowMetrics.TaskDuration.Record(duration.TotalSeconds, _job, Stage(stage));

    /// <summary>Records objects deleted by garbage collection.</summary>
    public void Collected(int objects)
    {
        if (objects > 0)
        {
            DataflowMetrics.GcObjectsDeleted.Add(objects, _job);
        }
    }

    private static KeyValuePair<string, object?> Stage(string stage) => new(DataflowMetrics.StageTag, stage);
}
