using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// One long-lived worker process of the process executor's pool, <c>&lt;program&gt; worker --plan &lt;uri&gt; --serve</c>:
/// handed one task at a time on its standard input, it answers each with a report on its standard output (see
/// <see cref="WorkerProtocol"/>). Its standard error is drained all along and its last lines kept, for the message of
/// a worker that dies. A worker that dies, times out or breaks the protocol is never used again.
/// </summary>
internal sealed class PooledWorker : IAsyncDisposable
{
    private const int StderrLines = 40;

    // How long the end of a dead worker's standard error may take to arrive (a child of its may hold the pipe open).
    private static readonly TimeSpan s_drain = TimeSpan.FromSeconds(5);

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Process _process;
    private readonly Channel<WorkerLine> _lines = Channel.CreateBounded<WorkerLine>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
    private readonly Queue<string> _stderr = new();
    private readonly CancellationTokenSource _stopReading = new();
    private readonly Lock _gate = new();
    private Task _readOut = Task.CompletedTask;
    private Task _readErr = Task.CompletedTask;
    private Task? _disposal;
    private bool _greeted;
    private volatile bool _broken;

    private PooledWorker(Process process, int slot)
    {
        _process = process;
        Slot = slot;
    }

    /// <summary>The worker's place in the pool, from 0: its row on the run report's timeline.</summary>
    public int Slot { get; }

    /// <summary>The worker's process id.</summary>
    public int ProcessId { get; private set; }

    /// <summary>How messages name the worker.</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture, $"worker {Slot + 1} (pid {ProcessId})");

    /// <summary>False once the worker died, was killed or broke the protocol: it must not be handed another task.</summary>
    public bool IsUsable => !_broken && !_process.HasExited;

    /// <summary>Starts the worker of run <paramref name="planUri"/> in pool slot <paramref name="slot"/>.</summary>
    /// <exception cref="WorkerProcessException">The program could not be started.</exception>
    public static PooledWorker Start(ProcessExecutorOptions options, string planUri, int slot)
    {
        var info = new ProcessStartInfo(options.Command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardInputEncoding = s_utf8,
            StandardOutputEncoding = s_utf8,
            StandardErrorEncoding = s_utf8,
        };
        foreach (var arg in options.Command.Skip(1).Concat(["worker", "--plan", planUri, "--serve"]).Concat(options.ExtraArguments))
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in options.Environment)
        {
            info.Environment[name] = value;
        }

        // A task's attempt and trace context come with the task, on the pipe; a pod's index means nothing here.
        info.Environment.Remove(WorkerEnvironment.Attempt);
        info.Environment.Remove(WorkerEnvironment.TraceParent);
        info.Environment.Remove(WorkerEnvironment.CompletionIndex);
        info.Environment[WorkerEnvironment.ServedPlan] = planUri;

        var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            throw new WorkerProcessException($"the worker program '{options.Command[0]}' could not be started: {ex.Message}");
        }

        var worker = new PooledWorker(process, slot) { ProcessId = process.Id };
        worker._readOut = Task.Run(worker.ReadOutAsync, CancellationToken.None);
        worker._readErr = Task.Run(worker.ReadErrAsync, CancellationToken.None);
        return worker;
    }

    /// <summary>
    /// Runs attempt <paramref name="attempt"/> of <paramref name="task"/> on this worker. On a report the worker stays
    /// usable; when it dies, passes <paramref name="timeout"/> (it is killed, with its process tree) or breaks the
    /// protocol (it is killed), the outcome says so and the worker is done.
    /// </summary>
    /// <exception cref="OperationCanceledException">The run was cancelled: the worker was killed and has exited.</exception>
    public async Task<WorkerOutcome> RunAsync(TaskId task, int attempt, string? traceParent, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(timeout, time);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            try
            {
                var request = WorkerProtocol.FormatRequest(new TaskRequest(WorkerProtocol.Version, task, attempt) { TraceParent = traceParent });
                await _process.StandardInput.WriteLineAsync(request.AsMemory(), stop.Token).ConfigureAwait(false);
                await _process.StandardInput.FlushAsync(stop.Token).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The worker's end of the pipe is closed: it has died, and its exit says how.
                return await EndedAsync(stop.Token).ConfigureAwait(false);
            }

            while (await _lines.Reader.WaitToReadAsync(stop.Token).ConfigureAwait(false))
            {
                var line = await _lines.Reader.ReadAsync(stop.Token).ConfigureAwait(false);
                if (Check(line, task) is { } problem)
                {
                    return await KilledAsync($"it broke the task protocol: {problem}", permanent: true).ConfigureAwait(false);
                }

                if (line.Report is { } report)
                {
                    return new WorkerOutcome(report, 0, [], null, Permanent: false);
                }
            }

            return await EndedAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Wait for the kill to land whatever happens: a worker left running could commit after the driver's clean-up.
            var killed = await KilledAsync(string.Create(CultureInfo.InvariantCulture, $"the attempt timed out after {timeout}; the worker was killed"), permanent: false).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return killed;
        }
    }

    /// <summary>Tells the worker to exit (its standard input ends) and waits <paramref name="grace"/> for it, then kills it.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _broken = true;
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It has gone already.
        }

        using var timer = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await KillAsync().ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Kills the worker (with its process tree) unless it has exited, waits for it, and lets go of it.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposal ??= DisposeCoreAsync();
            return new ValueTask(_disposal);
        }
    }

    private async Task DisposeCoreAsync()
    {
        await KillAsync().ConfigureAwait(false);
        await _stopReading.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_readOut, _readErr).WaitAsync(s_drain).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
        _stopReading.Dispose();
    }

    /// <summary>Why <paramref name="line"/> is not what the protocol allows while <paramref name="task"/> runs, or <see langword="null"/>.</summary>
    private string? Check(WorkerLine line, TaskId task)
    {
        if (line.Malformed is { } malformed)
        {
            return malformed;
        }

        if (line.Hello is { } hello)
        {
            if (_greeted)
            {
                return "it greeted the driver a second time";
            }

            _greeted = true;
            return hello.Protocol == WorkerProtocol.Version
                ? null
                : string.Create(CultureInfo.InvariantCulture, $"it speaks protocol {hello.Protocol}; this driver speaks protocol {WorkerProtocol.Version}: run workers of the same build as the driver");
        }

        var report = line.Report!;
        if (!_greeted)
        {
            return "it reported a task before it greeted the driver";
        }

        if (report.Task != task)
        {
            return $"it reported task {report.Task}";
        }

        return report.Status switch
        {
            WorkerProtocol.Committed or WorkerProtocol.Skipped or WorkerProtocol.Failed or WorkerProtocol.Refused => null,
            WorkerProtocol.Lost when report.LostObject is not null => null,
            WorkerProtocol.Lost => "it reported an input lost without naming it",
            _ => $"it reported status '{report.Status}'",
        };
    }

    /// <summary>The outcome of a worker whose output ended: it exited (or is about to), so wait for its exit code.</summary>
    private async Task<WorkerOutcome> EndedAsync(CancellationToken cancellationToken)
    {
        _broken = true;
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await _readErr.WaitAsync(s_drain, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var code = _process.ExitCode;
        var what = code switch
        {
            > 128 => string.Create(CultureInfo.InvariantCulture, $"the worker was killed by signal {code - 128} (exit code {code})"),
            _ => string.Create(CultureInfo.InvariantCulture, $"the worker exited with code {code}"),
        };

        // Exit code 2 is a usage error (a plan this program cannot run): it will not get better by trying again.
        return Ended(code, what, permanent: code == 2);
    }

    private async Task<WorkerOutcome> KilledAsync(string problem, bool permanent)
    {
        await KillAsync().ConfigureAwait(false);
        await _readErr.WaitAsync(s_drain).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return Ended(-1, problem, permanent);
    }

    private WorkerOutcome Ended(int exitCode, string problem, bool permanent)
    {
        _broken = true;
        lock (_stderr)
        {
            return new WorkerOutcome(null, exitCode, [.. _stderr], problem, permanent);
        }
    }

    private async Task KillAsync()
    {
        _broken = true;
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited in between.
        }

        await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private async Task ReadOutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync(_stopReading.Token).ConfigureAwait(false) is { } text)
            {
                var line = WorkerProtocol.ParseLine(text);
                if (line.Hello is not null || line.Report is not null || line.Malformed is not null)
                {
                    await _lines.Writer.WriteAsync(line, _stopReading.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The worker is gone or let go of.
        }
        finally
        {
            _lines.Writer.TryComplete();
        }
    }

    private async Task ReadErrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync(_stopReading.Token).ConfigureAwait(false) is { } line)
            {
                lock (_stderr)
                {
                    _stderr.Enqueue(line);
                    if (_stderr.Count > StderrLines)
                    {
                        _stderr.Dequeue();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The worker is gone or let go of.
        }
    }
}

/// <summary>How one attempt on a pooled worker ended: a report (the worker lives on), or the worker's end.</summary>
/// <param name="Report">The worker's report of the task; <see langword="null"/> when it died, timed out or broke the protocol.</param>
/// <param name="ExitCode">The worker's exit code when it died; -1 when it was killed.</param>
/// <param name="Stderr">The last lines the worker wrote on standard error, when it ended.</param>
/// <param name="Problem">What happened to the worker, when it ended.</param>
/// <param name="Permanent">True when another attempt cannot help (a usage error, a protocol mismatch).</param>
internal sealed record WorkerOutcome(WorkerReport? Report, int ExitCode, string[] Stderr, string? Problem, bool Permanent)
{
    /// <summary>What happened, for a message: the worker's name and task, the problem, the worker's last lines on stderr.</summary>
    public string Describe(PooledWorker worker, TaskId task, int attempt, string? what = null)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{worker.Name}, running task {task} (attempt {attempt}): {what ?? Problem}");
        return Stderr.Length == 0 ? text : $"{text}; its last lines on stderr:{Environment.NewLine}{string.Join(Environment.NewLine, Stderr)}";
    }
}
