using System.Diagnostics;

namespace Dataflow.EndToEnd.Tests;

/// <summary>The worker processes of a store's runs, as the tests find, kill and wait for them.</summary>
internal static class WorkerProcesses
{
    /// <summary>The worker processes of runs in <paramref name="store"/>, found by their command lines.</summary>
    public static List<int> Find(string store)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (args.Contains("worker") && args.Any(a => a.Contains(store, StringComparison.Ordinal)))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return pids;
    }

    public static bool Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    public static async Task WaitForExitAsync(string store)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Find(store).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }
}
