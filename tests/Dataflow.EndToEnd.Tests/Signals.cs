using System.Diagnostics;

namespace Dataflow.EndToEnd.Tests;

/// <summary>Ctrl+C for programs under test.</summary>
internal static partial class Signals
{
    private const int SigInt = 2;

    /// <summary>
    /// Starts <paramref name="start"/> as a terminal starts it: with SIGINT at its default. A non-interactive shell
    /// that runs the tests in the background hands its children SIGINT ignored; in such runs (<c>nohup .ci/run &amp;</c>) the
    /// program went on as if no signal had come, so the disposition is reset here rather than inherited.
    /// </summary>
    public static Process StartWithDefaultSigInt(ProcessStartInfo start)
    {
        start.ArgumentList.Insert(0, start.FileName);
        start.ArgumentList.Insert(0, "--default-signal=INT");
        start.FileName = "env";
        return Process.Start(start)!;
    }

    /// <summary>Sends SIGINT with kill(2) itself rather than the kill command: no process to start in between.</summary>
    /// <returns>0 on success.</returns>
    public static int Interrupt(int pid) => Kill(pid, SigInt);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
