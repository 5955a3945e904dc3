using System.Diagnostics;
using System.Globalization;
using Dataflow.Core;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// Runs every task in a child process, <c>&lt;program&gt; worker --plan &lt;uri&gt; --stage &lt;s&gt; --task &lt;i&gt;</c>:
/// the contract a pod uses. A task starts when its own dependencies have committed; a worker that fails, is killed
/// or times out is retried (a new process, a new attempt id); after a worker exits 0 its commit record is read
/// from the store and the driver goes on from it.
/// </summary>
internal sealed partial class ProcessExecutor(ProcessExecutorOptions processes) : TaskExecutor
{
    private const int StderrLines = 40;

    public override string Name => "process";

    public override void Validate() => processes.Validate();

    public override async Task ExecuteAsync(TaskExecution execution, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        await execution.WhenLeaseConfirmedAsync(cancellationToken).ConfigureAwait(false);
        var options = execution.Options;
        var pipeline = new TaskRetry<TaskCommit>(options, timeout: false);
        var slots = new SlotPool(execution.ReportRows("worker", options.Concurrency));
        await execution.RunWhenReadyAsync(
            options.Concurrency,
            (id, token) => RunTaskAsync(execution, pipeline, slots, id, token),
            cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask RunTaskAsync(TaskExecution execution, TaskRetry<TaskCommit> pipeline, SlotPool slots, TaskId id, CancellationToken cancellationToken)
    {
        var attempt = 0;
        var plan = execution.Plan;
        var stage = plan.Stages[id.Stage].Name;
        var options = execution.Options;
        execution.TaskStarted(id.Stage);
        TaskCommit commit;
        try
        {
            commit = await pipeline.ExecuteAsync(
                async token =>
                {
                    await execution.WhenInputsCommittedAsync(id, token).ConfigureAwait(false);
                    attempt++;
                    execution.AttemptStarted(id.Stage, isRetry: attempt > 1);
                    using var span = execution.StartTaskSpan(id, attempt);
                    var row = slots.Take();
                    var start = execution.ReportNow;
                    WorkerOutcome? outcome = null;
                    try
                    {
                        outcome = await RunWorkerAsync(options, execution.PlanUri, id, attempt, span, token).ConfigureAwait(false);
                        if (outcome.ExitCode != 0 && outcome.Report is { LostObject: { } lostObject })
                        {
                            // The worker found a committed input lost: the driver makes it again, then runs the task again.
                            throw new InputLostException(lostObject, outcome.Describe());
                        }

                        if (outcome.ExitCode != 0)
                        {
                            // A usage error (a plan this program cannot run) will not get better by trying again.
                            throw new WorkerProcessException(outcome.Describe(), permanent: outcome.ExitCode == 2);
                        }

                        var committed = await execution.FindCommitAsync(id, token).ConfigureAwait(false)
                            ?? throw new WorkerProcessException("the worker exited 0 but left no commit record");
                        if (outcome.Report is { } report)
                        {
                            execution.AddBytes(report.BytesRead, report.BytesWritten);
                            execution.AddStoreRetries(report.StoreRetries);
                        }

                        Record(execution, id, attempt, row, start, AttemptOutcome.Committed, outcome, error: null);
                        return committed;
                    }
                    catch (Exception ex)
                    {
                        var cancelled = ex is OperationCanceledException && token.IsCancellationRequested;
                        Record(execution, id, attempt, row, start, cancelled ? AttemptOutcome.Cancelled : AttemptOutcome.Failed, outcome, cancelled ? null : ex.Message);
                        if (!cancelled)
                        {
                            DataflowTracing.Fail(span, ex);
                            Log.AttemptFailed(execution.Logger, stage, id.ToString(), attempt, ex.Message, ex);
                        }

                        throw;
                    }
                    finally
                    {
                        slots.Return(row);
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested) && ex is not InputLostException)
        {
            execution.TaskFailed(id.Stage);
            var failed = new TaskFailedException(plan.Job, id, stage, plan.GetTask(id).Operator, attempt, ex);
            Log.TaskFailed(execution.Logger, stage, id.ToString(), failed.Message, ex);
            throw failed;
        }

        await execution.CommittedAsync(commit, cancellationToken).ConfigureAwait(false);
    }

    private static void Record(TaskExecution execution, TaskId id, int attempt, int row, double start, AttemptOutcome outcome, WorkerOutcome? worker, string? error) =>
        execution.RecordAttempt(id, attempt, row, start, execution.ReportNow, outcome, worker?.Report?.BytesRead ?? 0, worker?.Report?.BytesWritten ?? 0, error);

    private async Task<WorkerOutcome> RunWorkerAsync(JobRunnerOptions options, string planUri, TaskId id, int attempt, Activity? span, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(processes.Command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in processes.Command.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var arg in (string[])["worker", "--plan", planUri, "--stage", Text(id.Stage), "--task", Text(id.Index)])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var arg in processes.ExtraArguments)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in processes.Environment)
        {
            info.Environment[name] = value;
        }

        info.Environment[WorkerEnvironment.Attempt] = Text(attempt);
        if (span is not null)
        {
            // W3C trace context, so that the worker's spans join this task's span.
            info.Environment[WorkerEnvironment.TraceParent] = span.Id;
        }

        info.Environment.Remove(WorkerEnvironment.CompletionIndex);

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new WorkerOutcome(-1, null, [], $"the worker program '{processes.Command[0]}' could not be started: {ex.Message}");
        }

        process.StandardInput.Close();
        var stderr = new Queue<string>();
        WorkerReport? report = null;
        var readOut = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                report = TaskWorker.ParseReport(line) ?? report;
            }
        }, CancellationToken.None);
        var readErr = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                lock (stderr)
                {
                    stderr.Enqueue(line);
                    if (stderr.Count > StderrLines)
                    {
                        stderr.Dequeue();
                    }
                }
            }
        }, CancellationToken.None);

        using var timeout = new CancellationTokenSource(options.TaskTimeout, options.TimeProvider);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        string? killed = null;
        try
        {
            await process.WaitForExitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            killed = cancellationToken.IsCancellationRequested ? "the run was cancelled" : $"the attempt timed out after {options.TaskTimeout}";
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited in between.
            }

            // Wait for the kill to land whatever happens: a worker left running could commit after the driver's clean-up.
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        await Task.WhenAll(readOut, readErr).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        string[] tail;
        lock (stderr)
        {
            tail = [.. stderr];
        }

        return new WorkerOutcome(killed is null ? process.ExitCode : -1, report, tail, killed);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Worker for task {Task} of stage {Stage}, attempt {Attempt}, failed: {Error}")]
        public static partial void AttemptFailed(ILogger logger, string stage, string task, int attempt, string error, Exception exception);

        [LoggerMessage(EventId = 31, Level = LogLevel.Error, Message = "Task {Task} of stage {Stage} failed: {Error}")]
        public static partial void TaskFailed(ILogger logger, string stage, string task, string error, Exception exception);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed record WorkerOutcome(int ExitCode, WorkerReport? Report, string[] Stderr, string? Problem)
    {
        public string Describe()
        {
            var what = Problem ?? ExitCode switch
            {
                > 128 => string.Create(CultureInfo.InvariantCulture, $"the worker was killed by signal {ExitCode - 128} (exit code {ExitCode})"),
                _ => string.Create(CultureInfo.InvariantCulture, $"the worker exited with code {ExitCode}"),
            };
            return Stderr.Length == 0 ? what : $"{what}; its last lines on stderr:{Environment.NewLine}{string.Join(Environment.NewLine, Stderr)}";
        }
    }
}

/// <summary>A worker process failed: it exited non-zero, was killed, timed out, or left no commit record.</summary>
/// <param name="message">What happened, with the worker's last lines on stderr.</param>
/// <param name="permanent">True when trying again cannot help (the worker refused the task as a usage error).</param>
public sealed class WorkerProcessException(string message, bool permanent = false) : Exception(message)
{
    /// <summary>True when trying again cannot help.</summary>
    public bool Permanent { get; } = permanent;
}

/// <summary>The environment variables workers read.</summary>
public static class WorkerEnvironment
{
    /// <summary>The attempt number the driver gives a worker (1 for the first).</summary>
    public const string Attempt = "DATAFLOW_ATTEMPT";

    /// <summary>The W3C <c>traceparent</c> of the span a worker's spans belong to (set by a traced driver).</summary>
    public const string TraceParent = "TRACEPARENT";

    /// <summary>The task index of an indexed Kubernetes Job's pod, used when no <c>--task</c> is given.</summary>
    public const string CompletionIndex = "JOB_COMPLETION_INDEX";
}
