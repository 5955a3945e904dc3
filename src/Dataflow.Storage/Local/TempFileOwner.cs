using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Dataflow.Storage;

/// <summary>
/// The process that writes a temporary file of a folder store, as the file's name says it:
/// <c>&lt;machine&gt;-&lt;pid&gt;-&lt;start&gt;-&lt;random&gt;.tmp</c>. The machine is the host name (a pod's name on
/// Kubernetes, where pods may share a folder through a volume) with, on Linux, the process id namespace (containers on
/// one host may share a name); the start is the process's start time (on Linux in clock ticks after boot, from
/// <c>/proc</c>, so that a clock change does not alter it), so that a process id reused by a later process is not
/// taken for the owner. Only a process on the same machine can tell whether an owner still runs.
/// </summary>
/// <param name="Machine">The host name and process id namespace, as written in file names.</param>
/// <param name="ProcessId">The process id.</param>
/// <param name="StartTime">When the process started, in the platform's own unit; 0 when unknown.</param>
internal readonly partial record struct TempFileOwner(string Machine, int ProcessId, long StartTime)
{
    private const int ESRCH = 3;

    /// <summary>The extension of temporary files.</summary>
    public const string Extension = ".tmp";

    /// <summary>This process.</summary>
    public static TempFileOwner Current { get; } = new(CurrentMachine(), Environment.ProcessId, StartTimeOf(Environment.ProcessId) ?? 0);

    /// <summary>A new file name owned by this owner.</summary>
    public string NewFileName() =>
        string.Create(CultureInfo.InvariantCulture, $"{Machine}-{ProcessId}-{StartTime:x}-{Guid.NewGuid():N}{Extension}");

    /// <summary>The owner a file name says, if it is one of <see cref="NewFileName"/>.</summary>
    public static bool TryParse(string fileName, out TempFileOwner owner)
    {
        owner = default;
        if (!fileName.EndsWith(Extension, StringComparison.Ordinal))
        {
            return false;
        }

        // From the right: the machine may hold '-' itself.
        var fields = fileName[..^Extension.Length].Split('-');
        if (fields.Length < 4
            || !int.TryParse(fields[^3], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(fields[^2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
            || fields[^1].Length != 32)
        {
            return false;
        }

        owner = new TempFileOwner(string.Join('-', fields[..^3]), pid, start);
        return owner.Machine.Length > 0;
    }

    /// <summary>
    /// Whether the owner still runs: <see langword="true"/> or <see langword="false"/> for a process of this machine,
    /// <see langword="null"/> when this process cannot tell (another machine, or a start time it cannot read).
    /// </summary>
    public bool? IsRunning()
    {
        if (Machine != Current.Machine || Current.StartTime == 0)
        {
            return null;
        }

        if (this == Current)
        {
            return true;
        }

        return StartTimeOf(ProcessId) switch
        {
            null => false,
            0 => null,
            var start => start == StartTime,
        };
    }

    /// <summary>
    /// When process <paramref name="pid"/> started; <see langword="null"/> when no such process runs (a zombie is
    /// dead); 0 when one runs whose start time cannot be read (another user's, with <c>/proc</c> hiding it).
    /// </summary>
    internal static long? StartTimeOf(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            string stat;
            try
            {
                stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                // Gone, or hidden (hidepid): the kernel still says whether the id is in use.
                return Kill(pid, 0) != 0 && Marshal.GetLastPInvokeError() == ESRCH ? null : 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return 0;
            }

            // "pid (comm) state ppid …": the name may hold spaces and parentheses; field 3 (state) follows the last ')'
            // and field 22 is the start time.
            var close = stat.LastIndexOf(')');
            var fields = close < 0 || close + 2 > stat.Length ? [] : stat[(close + 2)..].Split(' ');
            if (fields.Length > 0 && fields[0] is "Z" or "X")
            {
                return null;
            }

            return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 0;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited ? null : process.StartTime.ToUniversalTime().Ticks;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }

    private static string CurrentMachine()
    {
        var name = new StringBuilder();
        foreach (var c in Environment.MachineName)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '_');
        }

        if (name.Length == 0)
        {
            name.Append("host");
        }

        name.Length = Math.Min(name.Length, 64);
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // "pid:[4026531836]": the namespace's inode number.
                var target = new FileInfo("/proc/self/ns/pid").LinkTarget;
                var digits = new string((target ?? "").Where(char.IsAsciiDigit).ToArray());
                if (digits.Length > 0)
                {
                    name.Append('.').Append(digits);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return name.ToString();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
