using System.Diagnostics;
using System.Text;

namespace Dataflow.Testing;

/// <summary>
/// A pod the fake's Job or Workflow controller ran, as a local process. Tests read its state and can kill it.
/// </summary>
public sealed class FakePod
{
    private readonly Lock _gate = new();
    private readonly StringBuilder _log = new();
    private readonly int _maxLogCharacters;
    private readonly TaskCompletionSource<PodOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Process? _process;
    private bool _killRequested;
    private string _phase = "Pending";
    private int? _exitCode;

    internal FakePod(
        string @namespace, string name, ResourceKind ownerKind, string ownerName, int? completionIndex, int attempt,
        int maxLogCharacters)
    {
        Namespace = @namespace;
        Name = name;
        OwnerKind = ownerKind;
        JobName = ownerKind == ResourceKind.Jobs ? ownerName : null;
        WorkflowName = ownerKind == ResourceKind.Workflows ? ownerName : null;
        CompletionIndex = completionIndex;
        Attempt = attempt;
        _maxLogCharacters = maxLogCharacters;
    }

    /// <summary>The pod's namespace.</summary>
    public string Namespace { get; }

    /// <summary>The pod's name.</summary>
    public string Name { get; }

    /// <summary>The Job that ran the pod, or null.</summary>
    public string? JobName { get; }

    /// <summary>The Workflow that ran the pod, or null.</summary>
    public string? WorkflowName { get; }

    /// <summary>The completion index of an Indexed Job's pod, or null.</summary>
    public int? CompletionIndex { get; }

    /// <summary>Which try this is for its index (Jobs) or its Argo node (Workflows): 0 for the first.</summary>
    public int Attempt { get; }

    /// <summary>Pending, Running, Succeeded or Failed.</summary>
    public string Phase
    {
        get
        {
            lock (_gate)
            {
                return _phase;
            }
        }
    }

    /// <summary>The process's exit code once it ended (137 when killed); null before, or when it never started.</summary>
    public int? ExitCode
    {
        get
        {
            lock (_gate)
            {
                return _exitCode;
            }
        }
    }

    /// <summary>Completes when the pod has ended, whatever the outcome.</summary>
    public Task Exited => _outcome.Task;

    /// <summary>The captured stdout and stderr (the last <see cref="FakeClusterOptions.MaxLogCharacters"/>).</summary>
    public string Log
    {
        get
        {
            lock (_gate)
            {
                return _log.ToString();
            }
        }
    }

    internal ResourceKind OwnerKind { get; }

    internal string OwnerName => JobName ?? WorkflowName ?? "";

    internal Task<PodOutcome> Outcome => _outcome.Task;

    /// <summary>
    /// Sends SIGKILL to the pod's process and its children, as a crash (not an API deletion) would: the pod fails with
    /// exit code 137 and its controller treats it as any failed pod.
    /// </summary>
    public void Kill()
    {
        Process? process;
        lock (_gate)
        {
            _killRequested = true;
            process = _process;
        }

        if (process is not null)
        {
            KillProcess(process);
        }
    }

    internal void Attach(Process process)
    {
        bool kill;
        lock (_gate)
        {
            _process = process;
            _phase = "Running";
            kill = _killRequested;
        }

        if (kill)
        {
            KillProcess(process);
        }
    }

    internal void AppendLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _log.Append(line).Append('\n');

            // Trim in chunks so that a chatty process does not pay a copy per line.
            if (_log.Length > _maxLogCharacters + (_maxLogCharacters / 4))
            {
                _log.Remove(0, _log.Length - _maxLogCharacters);
            }
        }
    }

    internal void Finish(PodOutcome outcome)
    {
        lock (_gate)
        {
            _phase = outcome.Phase;
            _exitCode = outcome.ExitCode;
        }

        _outcome.TrySetResult(outcome);
    }

    private static void KillProcess(Process process)
    {
        try
        {
            // The whole tree: a shell that forked its command would otherwise leave the child holding the output pipes.
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exiting as we kill it.
        }
    }
}

/// <summary>How a pod ended.</summary>
internal sealed record PodOutcome(string Phase, int? ExitCode, string Reason, string? Message)
{
    public bool Succeeded => Phase == "Succeeded";
}
