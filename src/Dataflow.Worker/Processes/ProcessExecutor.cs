using System.Diagnostics;
using System.Globalization;
using Dataflow.Execution.Local;
using Dataflow.Execution.Runs;
using Dataflow.Plans;
using Dataflow.Runs;

namespace Dataflow.Execution.Processes;

/// <summary>
/// Runs every task in a child process, <c>&lt;program&gt; worker --plan &lt;uri&gt; --stage &lt;s&gt; --task &lt;i&gt;</c>:
/// the contract a pod uses. A task starts when its own dependencies have committed; a worker that fails, is killed
/// or times out is retried (a new process, a new attempt id); after a worker exits 0 its commit record is read
/// from the store and the driver goes on from it.
/// </summary>
internal static class ProcessExecutor
{
    private const int StderrLines = 40;
    private static readonly TimeSpan s_maxRetryDelay = TimeSpan.FromSeconds(30);

    public static Task ExecuteAsync(RunSession session, ProcessExecutorOptions processes, JobRunnerOptions options, string planUri, bool[]? done, CancellationToken cancellationToken)
    {
        var lookup = new RunLayout(session.Plan.RunId);
        return DagScheduler.RunAsync(
            session.Graph,
            done,
            options.Concurrency,
            (index, token) => RunTaskAsync(session, processes, options, planUri, lookup, session.Graph.IdOf(index), token),
            cancellationToken);
    }

    private static async ValueTask RunTaskAsync(RunSession session, ProcessExecutorOptions processes, JobRunnerOptions options, string planUri, RunLayout layout, TaskId id, CancellationToken cancellationToken)
    {
        var plan = session.Plan;
        var task = plan.GetTask(id);
        string problem = "no attempt was made";
        var attempt = 0;
        session.Progress.TaskStarted(id.Stage);
        while (attempt < options.MaxAttempts)
        {
            attempt++;
            session.Counters.AttemptStarted(isRetry: attempt > 1);
            var outcome = await RunWorkerAsync(processes, options, planUri, id, attempt, cancellationToken).ConfigureAwait(false);
            if (outcome.ExitCode == 0)
            {
                if (await CommitIndex.FindAsync(session.Store, layout, id, cancellationToken).ConfigureAwait(false) is { } marker)
                {
                    if (outcome.Report is { } report)
                    {
                        session.Counters.AddRead(report.BytesRead);
                        session.Counters.AddWritten(report.BytesWritten);
                    }

                    await session.CommittedAsync(id, marker, replayed: false, cancellationToken).ConfigureAwait(false);
                    return;
                }

                problem = "the worker exited 0 but left no commit record";
            }
            else
            {
                problem = outcome.Describe();
                if (outcome.ExitCode == 2)
                {
                    // A usage error (a plan this program cannot run) will not get better by trying again.
                    break;
                }
            }

            if (attempt < options.MaxAttempts)
            {
                await Task.Delay(RetryDelay(options.RetryDelay, attempt), options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
        }

        session.Counters.TaskFailed();
        session.Progress.TaskStopped(id.Stage);
        throw new TaskFailedException(plan.Job, id, plan.Stages[id.Stage].Name, task.Operator, attempt, new WorkerProcessException(problem));
    }

    private static TimeSpan RetryDelay(TimeSpan first, int attempt)
    {
        var delay = first * Math.Pow(2, attempt - 1) * (0.8 + (0.4 * Random.Shared.NextDouble()));
        return delay > s_maxRetryDelay ? s_maxRetryDelay : delay;
    }

    private static async Task<WorkerOutcome> RunWorkerAsync(ProcessExecutorOptions processes, JobRunnerOptions options, string planUri, TaskId id, int attempt, CancellationToken cancellationToken)
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
public sealed class WorkerProcessException(string message) : Exception(message);

/// <summary>The environment variables workers read.</summary>
public static class WorkerEnvironment
{
    /// <summary>The attempt number the driver gives a worker (1 for the first).</summary>
    public const string Attempt = "DATAFLOW_ATTEMPT";

    /// <summary>The task index of an indexed Kubernetes Job's pod, used when no <c>--task</c> is given.</summary>
    public const string CompletionIndex = "JOB_COMPLETION_INDEX";
}
