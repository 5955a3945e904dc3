using System.Text.RegularExpressions;

namespace Dataflow.EndToEnd.Tests.MergeFiles;

/// <summary>The run report of a real run of the main job, opened in headless Chromium.</summary>
public sealed partial class RunReportInBrowserTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dataflow-e2e", Guid.NewGuid().ToString("N"));

    public RunReportInBrowserTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [GeneratedRegex("<rect class=\"task-bar\"([^>]*)>")]
    private static partial Regex TaskBar();

    [GeneratedRegex("([a-z-]+)=\"([^\"]*)\"")]
    private static partial Regex Attribute();

    [GeneratedRegex("<tr class=\"stage-row\" data-stage=\"(\\d+)\">")]
    private static partial Regex StageRow();

    [Fact]
    public async Task SeedCascade_ReportInChromium_TimelineShowsEveryTaskOnce()
    {
        var store = Path.Combine(_root, "seed");
        var result = await ProgramRunner.RunAsync("merge-files", "--store", store, "--json", "--progress", "none");
        Assert.True(result.ExitCode == 0, result.ToString());
        var runId = result.Json().GetProperty("runId").GetString()!;
        Assert.Contains($"/_dataflow/runs/{runId}/report.html", result.Stderr, StringComparison.Ordinal);
        var folder = Path.Combine(store, "_dataflow", "runs", runId);
        var report = RunRecords.DeserializeReport(await File.ReadAllBytesAsync(Path.Combine(folder, "report.json")));
        Assert.True(report.Summary.Verified, "the report carries the verified summary");
        Assert.Equal(511, report.Attempts.Count);

        var dom = await HeadlessChromium.DumpDomAsync(Path.Combine(folder, "report.html"));

        // What the browser built: a bar per task of the 511, each (stage, task) once, all committed, on a slot row.
        var bars = TaskBar().Matches(dom)
            .Select(m => Attribute().Matches(m.Groups[1].Value).ToDictionary(a => a.Groups[1].Value, a => a.Groups[2].Value, StringComparer.Ordinal))
            .ToList();
        Assert.Equal(511, bars.Count);
        Assert.Equal(511, bars.Select(b => (b["data-stage"], b["data-task"])).Distinct().Count());
        Assert.All(bars, b => Assert.Equal("committed", b["data-outcome"]));
        Assert.Equal(Enumerable.Range(0, 9).Select(s => (s, 256 >> s)), Enumerable.Range(0, 9).Select(s => (s, bars.Count(b => b["data-stage"] == s.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
        Assert.Equal(9, StageRow().Count(dom));

        // And it draws: a screenshot of the page, coloured by stage (more than a blank page's few colours).
        var png = Path.Combine(_root, "report.png");
        await HeadlessChromium.ScreenshotAsync(Path.Combine(folder, "report.html"), png, 1400, 1100);
        var image = PngImage.Read(png);
        Assert.Equal((1400, 1100), (image.Width, image.Height));
        Assert.True(image.Histogram().Count > 50, "the screenshot has almost no colours: is the page blank?");
        if (Environment.GetEnvironmentVariable("DATAFLOW_REPORT_SCREENSHOT") is { Length: > 0 } keep)
        {
            File.Copy(png, keep, overwrite: true);
        }
    }

    [Fact]
    public async Task WarmRun_ReportInChromium_TasksFromTheCacheOnTheCacheRow()
    {
        var store = Path.Combine(_root, "warm");
        string[] args = ["--store", store, "--files", "16", "--cache", "on", "--overwrite", "--json", "--progress", "none"];
        var cold = await ProgramRunner.RunAsync("merge-files", args);
        Assert.True(cold.ExitCode == 0, cold.ToString());
        var warm = await ProgramRunner.RunAsync("merge-files", args);
        Assert.True(warm.ExitCode == 0, warm.ToString());
        var folder = Path.Combine(store, "_dataflow", "runs", warm.Json().GetProperty("runId").GetString()!);

        var dom = await HeadlessChromium.DumpDomAsync(Path.Combine(folder, "report.html"));

        // The 15 tasks, none run: the final one taken from the cache, a bar of outcome "cached" on the row named
        // "cache", which the legend explains; the 14 below it not even needed (counted as cached, drawn as nothing).
        var bars = TaskBar().Matches(dom)
            .Select(m => Attribute().Matches(m.Groups[1].Value).ToDictionary(a => a.Groups[1].Value, a => a.Groups[2].Value, StringComparer.Ordinal))
            .ToList();
        Assert.Single(bars);
        Assert.All(bars, b => Assert.Equal("cached", b["data-outcome"]));
        var row = Assert.Single(bars.Select(b => b["data-row"]).Distinct());
        Assert.Matches($"<g class=\"lane\" data-row=\"{row}\">.*?>cache</text></g>", dom);
        Assert.Contains("<i class=\"swatch-cached\"></i>taken from the task cache (not run)", dom, StringComparison.Ordinal);
        Assert.Contains("<dt>Cached</dt><dd>15 ", dom, StringComparison.Ordinal);
        Assert.Contains("<th>Cached</th>", dom, StringComparison.Ordinal);

        // The cold run's report has the column and the fact (it used the cache), but no bar from it.
        var coldDom = await HeadlessChromium.DumpDomAsync(Path.Combine(store, "_dataflow", "runs", cold.Json().GetProperty("runId").GetString()!, "report.html"));
        Assert.DoesNotContain("data-outcome=\"cached\"", coldDom, StringComparison.Ordinal);
        Assert.DoesNotContain("<i class=\"swatch-cached\">", coldDom, StringComparison.Ordinal);
        Assert.Contains("<dt>Cached</dt><dd>0 ", coldDom, StringComparison.Ordinal);
    }
}
