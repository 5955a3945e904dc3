using Dataflow.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Worker;

/// <summary>How a <see cref="JobRunner"/> runs jobs. Every setting has a sensible default.</summary>
public sealed record JobRunnerOptions
{
    /// <summary>Tasks running at once. Default: the processor count.</summary>
    public int Concurrency { get; init; } = Environment.ProcessorCount;

    /// <summary>Attempts per task before the run fails, the first included. Default 3.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>The delay before the first retry; it doubles for each further retry (with jitter), up to 30 s. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long one attempt may run before it is cancelled and counted as failed. Default 30 minutes;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for no limit.
    /// </summary>
    public TimeSpan TaskTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How many of the run's inputs may fail for good before the run fails (<c>--max-failed-inputs</c>). Default
    /// <see cref="FailureTolerance.None"/>: the first task that fails for good fails the run. Above it, a task whose
    /// operator tolerates it (<see cref="IObjectOperator.ToleratesFailedTasks"/>: map tasks) that fails for good is
    /// recorded as failed, its outputs are read as empty, and the run ends <c>succeeded</c> with
    /// <see cref="RunSummary.Partial"/> and <see cref="RunSummary.FailedInputs"/>; a failed task of any other stage
    /// still fails the run. Works with executors that run tasks under the driver (<see cref="Executor.CanTolerateFailedTasks"/>).
    /// </summary>
    public FailureTolerance MaxFailedInputs { get; init; } = FailureTolerance.None;

    /// <summary>
    /// When a straggling task gets a backup attempt (see <see cref="SpeculationOptions"/>). Default: on, after twice the
    /// stage's median and at least 1 s, once 75 % of the stage has committed; <see cref="SpeculationOptions.Off"/> to never.
    /// </summary>
    public SpeculationOptions Speculation { get; init; } = new();

    /// <summary>When intermediate artifacts are deleted. Default <see cref="GcMode.Eager"/>.</summary>
    public GcMode Gc { get; init; } = GcMode.Eager;

    /// <summary>
    /// How a new run uses the task cache in the store (a resumed run keeps its own): <see cref="CacheMode.Off"/> by
    /// default — a cache keeps every intermediate output its tasks write, instead of collecting it, and trusts each
    /// operator's declared <see cref="IObjectOperator.Version"/>, so a run uses it only when asked.
    /// </summary>
    public CacheMode Cache { get; init; } = CacheMode.Off;

    /// <summary>
    /// Fingerprints job inputs for the task cache by a hash of their bytes (read once at the start of the run), instead
    /// of their entity tag and, on a folder, their file's identity and modification time. Off by default.
    /// </summary>
    public bool CacheHashesInputs { get; init; }

    /// <summary>Replace a final output that already exists. Default <see langword="false"/>: an existing output fails the run before it starts.</summary>
    public bool Overwrite { get; init; }

    /// <summary>The run's id; default: a new one (<see cref="RunLayout.NewRunId"/>).</summary>
    public string? RunId { get; init; }

    /// <summary>The clock, for timestamps, back-off and timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How often the driver looks for a request to cancel its run (<see cref="RunLease.CancelPollInterval"/>; tests make it shorter).</summary>
    internal TimeSpan CancelPollInterval { get; init; } = RunLease.CancelPollInterval;

    /// <summary>How often the driver stores what it is doing for live views (<see cref="ProgressPublisher.Interval"/>; zero: never; tests make it shorter).</summary>
    internal TimeSpan ProgressInterval { get; init; } = ProgressPublisher.Interval;

    /// <summary>Failed attempts one driver records one by one (<see cref="FailureRecorder.MaxRecords"/>; tests make it small); later ones are only counted.</summary>
    internal int MaxFailureRecords { get; init; } = FailureRecorder.MaxRecords;

    /// <summary>
    /// The program arguments that define the job, stored in the plan so that worker processes and <c>resume</c> can
    /// define the same job again (see <see cref="Plan.Arguments"/>): what a program's
    /// <c>DataflowCommands.TryRunAsync(args, defineJob)</c> hands its <c>defineJob</c>. Required (an empty list when
    /// nothing defines the job) with <see cref="Executor.WorkerProcesses(ProcessExecutorOptions)"/> and the cluster executors
    /// (<see cref="Executor.DefinesJobFromArguments"/>). Never put credentials here.
    /// </summary>
    public IReadOnlyList<string>? Arguments { get; init; }

    /// <summary>
    /// Where the tasks run: <see cref="Executor.Local"/> (the default: in this process),
    /// <see cref="Executor.WorkerProcesses(ProcessExecutorOptions)"/>, or a cluster executor of <c>Dataflow.Kubernetes</c>.
    /// </summary>
    public Executor Executor { get; init; } = Executor.Local;

    /// <summary>
    /// Where the run logs (category <c>Dataflow.Run</c>): its start and end at Information, each stage's end at
    /// Debug, failed attempts at Warning and tasks that failed for good at Error, with the run id, job, stage and
    /// task in scope. Default: no logging.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// Write the run report (<c>report.json</c> and <c>report.html</c> in the run's folder) at the end of every run,
    /// failed and cancelled ones included. Default <see langword="true"/>.
    /// </summary>
    public bool Report { get; init; } = true;

    /// <summary>Throws when a setting is out of range, or the settings do not go together.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the message names it.</exception>
    /// <exception cref="ArgumentException">
    /// The executor's settings are not valid, or it runs tasks in worker processes and <see cref="Arguments"/> is not
    /// set (the workers could not define the job again); the message names what is missing.
    /// </exception>
    public void Validate()
    {
        if (Concurrency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Concurrency), Concurrency, "concurrency must be at least 1");
        }

        if (MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "attempts must be at least 1");
        }

        if (RetryDelay < TimeSpan.Zero || RetryDelay > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(RetryDelay), RetryDelay, "the retry delay must be between 0 and 1 hour");
        }

        if (TaskTimeout != Timeout.InfiniteTimeSpan && (TaskTimeout <= TimeSpan.Zero || TaskTimeout > TimeSpan.FromDays(1)))
        {
            throw new ArgumentOutOfRangeException(nameof(TaskTimeout), TaskTimeout, "the task timeout must be positive and at most a day, or infinite");
        }

        if (RunId is not null && !RunLayout.IsValidRunId(RunId))
        {
            throw new ArgumentOutOfRangeException(nameof(RunId), RunId, "a run id is 1 to 64 ASCII letters, digits, '-' or '_'");
        }

        ArgumentNullException.ThrowIfNull(Speculation);
        Speculation.Validate();
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(Executor);
        ArgumentNullException.ThrowIfNull(MaxFailedInputs);
        Executor.Validate();
        if (MaxFailedInputs.AllowsAny && !Executor.CanTolerateFailedTasks)
        {
            throw new ArgumentException(
                $"max failed inputs ({MaxFailedInputs}): the {Executor.Name} executor cannot go on without a failed task (its stages fail as a whole); use the local or process executor, or no failure budget",
                nameof(MaxFailedInputs));
        }
        if (Arguments is not null && Arguments.Any(a => a is null))
        {
            throw new ArgumentException("the arguments that define the job must not contain null", nameof(Arguments));
        }

        if (Executor.DefinesJobFromArguments && Arguments is null)
        {
            throw new ArgumentException(
                $"the {Executor.Name} executor's workers define the job again from the arguments stored with the run, and JobRunnerOptions.Arguments is not set: "
                + "set it to what defines the job (an empty list when nothing does), and make the worker program define the job from them, "
                + "e.g. 'if (await DataflowCommands.TryRunAsync(args, defineJob) is { } exitCode) return exitCode;' first in its Main",
                nameof(Arguments));
        }
    }
}
