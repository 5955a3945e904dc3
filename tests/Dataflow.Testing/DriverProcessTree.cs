using System.Diagnostics;
using System.Globalization;

namespace Dataflow.Testing;

/// <summary>
/// A chromedriver that this process started, and every process that has been seen below it (the browser and its
/// helpers), each known by id and start time: what <see cref="BrowserSession"/> kills when the browser does not quit.
/// </summary>
/// <remarks>
/// Only ever a tree below a direct child of this process: <see cref="OfChild"/> refuses any other root (an id of 0,
/// 1, this process, a stranger's process), so no other process on the machine can be killed through it. Processes
/// are killed one by one (SIGKILL), never with <see cref="Process.Kill(bool)"/>'s own tree walk, and only while
/// their start time is still the one recorded, so that a reused id is left alone. Linux only (<c>/proc</c>).
/// </remarks>
internal sealed class DriverProcessTree
{
    private static readonly TimeSpan s_exitWait = TimeSpan.FromSeconds(5);

    private readonly ProcessStat _root;
    private readonly HashSet<ProcessStat> _known = [];

    private DriverProcessTree(ProcessStat root)
    {
        _root = root;
        _known.Add(root);
    }

    /// <summary>The process id of the root, the driver.</summary>
    public int RootId => _root.Id;

    /// <summary>The tree below <paramref name="pid"/> when that is a running child of this process, else null.</summary>
    public static DriverProcessTree? OfChild(int pid)
    {
        if (pid <= 1 || pid == Environment.ProcessId || ProcessStat.Read(pid) is not { } root
            || root.ParentId != Environment.ProcessId || root.IsZombie)
        {
            return null;
        }

        var tree = new DriverProcessTree(root);
        tree.Refresh();
        return tree;
    }

    /// <summary>
    /// Adds the root's current descendants to the processes known. Call it while the browser runs: once the driver
    /// is gone, its orphans are no longer below it.
    /// </summary>
    public void Refresh()
    {
        if (!_root.IsSameRunningProcess())
        {
            return;
        }

        var children = new Dictionary<int, List<ProcessStat>>();
        foreach (var stat in ProcessStat.All())
        {
            (children.TryGetValue(stat.ParentId, out var list) ? list : children[stat.ParentId] = []).Add(stat);
        }

        var pending = new Queue<ProcessStat>([_root]);
        while (pending.TryDequeue(out var parent))
        {
            foreach (var child in children.GetValueOrDefault(parent.Id) ?? [])
            {
                // A descendant started after its ancestors; anything else is a confusion of ids, not ours.
                if (child.StartTicks >= _root.StartTicks && child.Id > 1 && child.Id != Environment.ProcessId && _known.Add(child))
                {
                    pending.Enqueue(child);
                }
            }
        }
    }

    /// <summary>Kills every known process still running (after one last <see cref="Refresh"/>) and waits a moment for them to end.</summary>
    public void Kill()
    {
        Refresh();
        foreach (var process in _known)
        {
            process.Kill();
        }

        var deadline = Stopwatch.StartNew();
        while (_known.Any(p => p.IsSameRunningProcess()) && deadline.Elapsed < s_exitWait)
        {
            Thread.Sleep(20);
        }
    }

    /// <summary>A process as <c>/proc/&lt;pid&gt;/stat</c> describes it: id, parent, state and start time (clock ticks after boot).</summary>
    private readonly record struct ProcessStat(int Id, int ParentId, char State, ulong StartTicks)
    {
        public bool IsZombie => State is 'Z' or 'X';

        public static ProcessStat? Read(int pid)
        {
            string text;
            try
            {
                text = File.ReadAllText($"/proc/{pid}/stat");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null; // ended meanwhile
            }

            // "pid (command) state ppid ... starttime ...": the command may hold spaces and parentheses, so the fields
            // are counted from its last ')'; the state is field 3, the parent field 4, the start time field 22.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19
                && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)
                && ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
                ? new ProcessStat(pid, parent, fields[0][0], start)
                : null;
        }

        public static IEnumerable<ProcessStat> All()
        {
            foreach (var folder in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                    && Read(pid) is { } stat)
                {
                    yield return stat;
                }
            }
        }

        /// <summary>Whether this very process (not a later one with the same id) is still running.</summary>
        public bool IsSameRunningProcess() =>
            Read(Id) is { } now && now.StartTicks == StartTicks && !now.IsZombie;

        public void Kill()
        {
            if (Id <= 1 || Id == Environment.ProcessId || !IsSameRunningProcess())
            {
                return;
            }

            try
            {
                using var process = Process.GetProcessById(Id);
                process.Kill(entireProcessTree: false);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // ended meanwhile
            }
        }
    }
}
