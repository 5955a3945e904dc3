using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Dataflow.EndToEnd.Tests.MergeFiles;

/// <summary>
/// The ui command of merge-files, watched in headless Chromium while merge-files runs the seed cascade in another
/// process: the run's page grows to 511 committed tasks without a reload. Writes docs/ui-run.png (the page mid-run)
/// when <see cref="Screenshots.UpdateVariable"/> is 1, else to a temporary folder.
/// </summary>
public sealed partial class UiInBrowserTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Guards against hangs, not measures: the run takes about 5 s (511 merges of 40 ms, 4 at once).</summary>
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(120);

    private readonly string _root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [GeneratedRegex(@"^([\d,]+) / ([\d,]+) committed")]
    private static partial Regex Progress();

    [Fact]
    public async Task SeedCascade_RunPageWhileItRuns_GrowsTo511CommittedTasks_WithoutReload()
    {
        var store = Path.Combine(_root, "store");
        Directory.CreateDirectory(store);
        using var ui = Process.Start(ProgramRunner.StartInfo("merge-files", ["ui", "--store", store, "--port", "0"]))!;
        Process? run = null;
        try
        {
            var uiErrors = ui.StandardError.ReadToEndAsync();
            var address = await ReadAddressAsync(ui, uiErrors);
            using var session = BrowserSession.Start(new BrowserSessionOptions { Width = 1280, Height = 900 });
            run = Process.Start(ProgramRunner.StartInfo(
                "merge-files", ["--store", store, "--task-delay", "40ms", "--concurrency", "4", "--progress", "none", "--json"]))!;
            var stdout = run.StandardOutput.ReadToEndAsync();
            var stderr = run.StandardError.ReadToEndAsync();
            var runId = await PlannedRunAsync(store, run, stderr);

            session.Open(new Uri(address, $"#/runs/{runId}"));
            session.WaitUntil(_ => Committed(session) is not null, s_guard, "the run's progress on its page");
            session.Script<object>("window.__marker = 'first load'");
            var seen = new List<int>();
            string? screenshot = null;
            session.WaitUntil(
                _ =>
                {
                    var committed = Committed(session) ?? throw new InvalidOperationException("#run-progress went away");
                    if (seen.Count == 0 || seen[^1] != committed)
                    {
                        seen.Add(committed);
                    }

                    // A stage never shows more tasks running than it has left to commit (what runs is stored every 2 s, commits are newer).
                    var overfull = session.Script<string>(
                        "return [...document.querySelectorAll('#stages-table tbody tr')].map(r => [...r.cells].map(c => Number(c.textContent.replace(/,/g, '')) || 0))"
                        + ".filter(([, tasks, committed, running]) => committed + running > tasks).map(r => r.join(' ')).join('; ')");
                    Assert.True(overfull.Length == 0, $"stages with more running than left to commit (stage, tasks, committed, running, …): {overfull}");

                    if (screenshot is null && committed is >= 300 and <= 480)
                    {
                        screenshot = Screenshots.Take(session, "ui-run.png");
                    }

                    return committed == 511 && session.Text("#run-state") == "succeeded";
                },
                s_guard,
                "511 / 511 committed and the state succeeded");

            output.WriteLine($"committed counts the page showed: {string.Join(", ", seen)}; screenshot: {screenshot ?? "none"}");
            await run.WaitForExitAsync().WaitAsync(ProgramRunner.Patience);
            var result = new ProgramResult(run.ExitCode, await stdout, await stderr);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(runId, result.Json().GetProperty("runId").GetString());

            // It grew in place: first seen below 511, then more at each poll, and the page was never loaded again.
            Assert.True(seen[0] < 511, $"the page first showed {seen[0]} committed: the run had ended before it was watched");
            Assert.True(seen.Count >= 3, $"the page showed only {string.Join(", ", seen)} committed");
            Assert.Equal(seen.Order(), seen);
            Assert.Equal("first load", session.Script<string>("return window.__marker"));
            Assert.Equal(1L, session.Script<long>("return performance.getEntriesByType('navigation').length"));
            Assert.Equal("succeeded", session.Text("#summary-status"));
            Assert.Equal(
                [.. Enumerable.Range(0, 9).Select(s => (256 >> s).ToString(CultureInfo.InvariantCulture))],
                session.Texts("#stages-table td.committed"));
            Assert.Empty(session.ConsoleErrors());
            if (Screenshots.UpdateDocs)
            {
                Assert.True(screenshot is not null, $"no screenshot mid-run: the page showed {string.Join(", ", seen)} committed");
            }
        }
        finally
        {
            // Ended whatever happened: the ui command serves until stopped, and a failed test may leave the run going.
            foreach (var process in new[] { run, ui }.OfType<Process>())
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            run?.Dispose();
        }
    }

    /// <summary>The committed count of <c>#run-progress</c> ("137 / 511 committed (26 %)"), or null before the page shows it.</summary>
    private static int? Committed(BrowserSession session)
    {
        var progress = session.Driver.FindElements(OpenQA.Selenium.By.Id("run-progress"));
        if (progress.Count == 0 || Progress().Match(progress[0].Text) is not { Success: true } match)
        {
            return null;
        }

        Assert.Equal("511", match.Groups[2].Value);
        return int.Parse(match.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
    }

    /// <summary>The address the ui command prints on stdout once it serves.</summary>
    private static async Task<Uri> ReadAddressAsync(Process ui, Task<string> errors)
    {
        var line = await ui.StandardOutput.ReadLineAsync().WaitAsync(s_guard);
        if (line is null || !line.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
        {
            ui.Kill(entireProcessTree: true);
            Assert.Fail($"the ui command printed '{line}' instead of its address: {await errors}");
        }

        return new Uri(line.Trim());
    }

    /// <summary>The id of the run merge-files planned: the folder of the first plan in the store.</summary>
    private static async Task<string> PlannedRunAsync(string store, Process run, Task<string> stderr)
    {
        var runs = Path.Combine(store, "_dataflow", "runs");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (Directory.Exists(runs) && Directory.GetDirectories(runs).FirstOrDefault(d => File.Exists(Path.Combine(d, "plan.json"))) is { } folder)
            {
                return Path.GetFileName(folder);
            }

            if (run.HasExited)
            {
                Assert.Fail($"merge-files ended with {run.ExitCode} before it planned: {await stderr}");
            }

            Assert.True(clock.Elapsed < s_guard, $"merge-files planned no run in {s_guard.TotalSeconds} s");
            await Task.Delay(20);
        }
    }
}
