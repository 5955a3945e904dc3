using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// The retry policy of a task, the same for every executor: up to <see cref="JobRunnerOptions.MaxAttempts"/> attempts
/// with exponential, jittered back-off (from <see cref="JobRunnerOptions.RetryDelay"/>, at most 30 s); optionally each
/// attempt limited to <see cref="JobRunnerOptions.TaskTimeout"/> (the process executor times its workers itself).
/// A loop of its own rather than a resilience library's pipeline: it runs once per task, so what it costs is paid
/// thousands of times a run, and a cold program should not load and validate a pipeline to run its first task.
/// </summary>
/// <typeparam name="T">What a successful attempt returns.</typeparam>
internal sealed class TaskRetry<T>
{
    private static readonly TimeSpan s_maxDelay = TimeSpan.FromSeconds(30);

    private readonly int _maxAttempts;
    private readonly TimeSpan _delay;
    private readonly TimeSpan? _timeout;
    private readonly TimeProvider _time;
    private readonly Func<Exception, bool>? _isPermanent;

    /// <param name="options">The attempts, back-off, timeout and clock.</param>
    /// <param name="timeout">Whether to limit each attempt to the options' task timeout.</param>
    /// <param name="isPermanent">The job's rule for failures that another attempt cannot mend (<see cref="Job.IsPermanentFailure"/>), if known here.</param>
    public TaskRetry(JobRunnerOptions options, bool timeout = true, Func<Exception, bool>? isPermanent = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _isPermanent = isPermanent;
        _maxAttempts = Math.Max(1, options.MaxAttempts);
        _delay = options.RetryDelay;
        _timeout = timeout && options.TaskTimeout != Timeout.InfiniteTimeSpan ? options.TaskTimeout : null;
        _time = options.TimeProvider;
    }

    /// <summary>Runs <paramref name="attempt"/> until it returns, fails for good, or the attempts run out.</summary>
    /// <exception cref="TaskTimeoutException">The last attempt passed the task timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<T> ExecuteAsync(Func<CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        for (var number = 1; ; number++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await RunOnceAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (number < _maxAttempts && ShouldRetry(ex, cancellationToken) && !IsPermanent(ex))
            {
                var delay = Backoff(number);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// Whether a failed attempt is worth another: not when the run is cancelled, nor when trying again cannot help — a
    /// plan naming an unknown operator, a worker refusing a task as a usage error, a lost input (the driver makes it
    /// again first, see <see cref="TaskExecution"/>), a lease taken by another driver.
    /// </summary>
    internal static bool ShouldRetry(Exception error, CancellationToken cancellationToken) => error switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => false,
        JobDefinitionException or WorkerProcessException { Permanent: true } or InputLostException or RunLeaseException => false,
        _ => true,
    };

    /// <summary>
    /// Whether <paramref name="error"/> is a failure that no attempt can mend, so the task failed for good however many
    /// attempts were left: one the job's rule finds permanent (a <see cref="PermanentTaskException"/>, or a type the
    /// job names), a worker reporting such a failure or refusing the task, a plan naming an unknown operator.
    /// </summary>
    public bool IsPermanent(Exception error) =>
        error is JobDefinitionException or WorkerProcessException { Permanent: true } || (_isPermanent?.Invoke(error) ?? false);

    /// <summary>The wait after failed attempt <paramref name="number"/>: the delay doubled each time, at most 30 s, times 0.5–1.</summary>
    internal TimeSpan Backoff(int number)
    {
        if (_delay <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var doubled = _delay.TotalMilliseconds * Math.Pow(2, Math.Min(number - 1, 20));
        var capped = Math.Min(doubled, s_maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    /// <summary>Runs <paramref name="attempt"/> once, limited to the task timeout like each attempt of <see cref="ExecuteAsync"/> (a backup attempt's way).</summary>
    /// <exception cref="TaskTimeoutException">The attempt passed the task timeout.</exception>
    internal async ValueTask<T> RunOnceAsync(Func<CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        if (_timeout is not { } limit)
        {
            return await attempt(cancellationToken).ConfigureAwait(false);
        }

        using var timer = new CancellationTokenSource(limit, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            return await attempt(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TaskTimeoutException(limit, ex);
        }
    }
}

/// <summary>An attempt of a task passed the task timeout (<c>--task-timeout</c>) and was stopped.</summary>
/// <param name="timeout">The limit it passed.</param>
/// <param name="innerException">The cancellation that stopped it.</param>
internal sealed class TaskTimeoutException(TimeSpan timeout, Exception? innerException = null)
    : TimeoutException($"the attempt timed out after {timeout}", innerException)
{
    /// <summary>The limit the attempt passed.</summary>
    public TimeSpan Timeout { get; } = timeout;
}
