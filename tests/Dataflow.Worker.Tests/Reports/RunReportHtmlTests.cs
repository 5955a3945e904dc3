using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Dataflow.Worker.Tests.Reports;

public sealed partial class RunReportHtmlTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [GeneratedRegex("<rect class=\"task-bar\"([^>]*)>")]
    private static partial Regex TaskBar();

    [GeneratedRegex("([a-z-]+)=\"([^\"]*)\"")]
    private static partial Regex Attribute();

    [GeneratedRegex("<tr class=\"stage-row\" data-stage=\"(\\d+)\">(.*?)</tr>", RegexOptions.Singleline)]
    private static partial Regex StageRow();

    [GeneratedRegex("<td[^>]*>(.*?)</td>", RegexOptions.Singleline)]
    private static partial Regex Cell();

    [GeneratedRegex("<script type=\"application/json\" id=\"report-data\"[^>]*>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ReportData();

    [GeneratedRegex("<span class=\"key\" data-stage=\"(\\d+)\"><i style=\"background:#([0-9a-f]{6})\">")]
    private static partial Regex LegendKey();

    private static List<Dictionary<string, string>> Bars(string html) =>
        [.. TaskBar().Matches(html).Select(m => Attribute().Matches(m.Groups[1].Value).ToDictionary(a => a.Groups[1].Value, a => a.Groups[2].Value))];

    private string Write(string name, string html)
    {
        var path = Path.Combine(_folder.Path, name);
        File.WriteAllText(path, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return path;
    }

    [Fact]
    public async Task Render_SmallReport_ChromiumShowsEveryAttemptAndStageOnce()
    {
        var report = SampleReports.Small();
        var page = Write("report.html", RunReportHtml.Render(report));

        var watch = Stopwatch.StartNew();
        var dom = await HeadlessChromium.DumpDomAsync(page);
        output.WriteLine($"--dump-dom took {watch.ElapsedMilliseconds} ms");

        var bars = Bars(dom);
        Assert.Equal(report.Attempts.Count, bars.Count);
        Assert.Equal(
            report.Attempts.Select(a => $"{a.Stage}/{a.Task}/{a.Attempt}").Order(),
            bars.Select(b => $"{b["data-stage"]}/{b["data-task"]}/{b["data-attempt"]}").Order());
        foreach (var attempt in report.Attempts)
        {
            var bar = Assert.Single(bars, b => b["data-stage"] == $"{attempt.Stage}" && b["data-task"] == $"{attempt.Task}" && b["data-attempt"] == $"{attempt.Attempt}");
            Assert.Equal(attempt.Outcome, bar["data-outcome"]);
            Assert.Equal($"{attempt.Row}", bar["data-row"]);
        }

        Assert.Equal("failed", Assert.Single(bars, b => b["data-stage"] == "0" && b["data-task"] == "1" && b["data-attempt"] == "1")["data-outcome"]);
        Assert.Equal("cancelled", Assert.Single(bars, b => b["data-stage"] == "2")["data-outcome"]);

        var rows = StageRow().Matches(dom);
        Assert.Equal(report.Stages.Count, rows.Count);
        foreach (var (stage, row) in report.Stages.Zip(rows))
        {
            Assert.Equal($"{stage.Index}", row.Groups[1].Value);
            var cells = Cell().Matches(row.Groups[2].Value).Select(c => c.Groups[1].Value).ToList();
            Assert.EndsWith(WebUtility.HtmlEncode(stage.Name), cells[0], StringComparison.Ordinal);
            Assert.Equal(
                new[] { stage.Tasks, stage.Committed, stage.Skipped, stage.Failed, stage.Attempts, stage.Retries }.Select(n => $"{n}"),
                cells[1..7]);
        }

        // Injected markup stays text: no <b> element, the page not cut short, the job's name shown as it is.
        Assert.DoesNotContain("<b>x</b>", dom, StringComparison.Ordinal);
        Assert.Contains("&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;", dom, StringComparison.Ordinal);
        Assert.Contains("<span id=\"job\">words &amp;&lt;&gt; \"quoted\" job</span>", dom, StringComparison.Ordinal);
        Assert.Contains("<table id=\"stages\">", dom, StringComparison.Ordinal);

        var data = ReportData().Match(dom);
        Assert.True(data.Success, "no report-data script in the DOM");
        var embedded = RunRecords.DeserializeReport(Encoding.UTF8.GetBytes(data.Groups[1].Value));
        Assert.Equal(report.Attempts.Count, embedded.Attempts.Count);
        Assert.Equal(report.Summary.Error, embedded.Summary.Error);
        Assert.Equal(RunRecords.Serialize(report), RunRecords.Serialize(embedded));
    }

    [Fact]
    public async Task Render_SmallReport_ScreenshotShowsEveryStageColour()
    {
        var html = RunReportHtml.Render(SampleReports.Small());
        var page = Write("report.html", html);
        var blank = Write("blank.html", "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body></body></html>");
        // Kept beside the test assembly (overwritten on every run) for a person to look at.
        var screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;
        var png = Path.Combine(screenshots, "run-report.png");
        var blankPng = Path.Combine(_folder.Path, "blank.png");

        var watch = Stopwatch.StartNew();
        await HeadlessChromium.ScreenshotAsync(page, png, 1400, 1000);
        output.WriteLine($"--screenshot took {watch.ElapsedMilliseconds} ms: {png}");
        await HeadlessChromium.ScreenshotAsync(blank, blankPng, 1400, 1000);

        Assert.Equal((1400, 1000), PngImage.ReadSize(png));
        Assert.Equal((1400, 1000), PngImage.ReadSize(blankPng));
        Assert.True(new FileInfo(png).Length > 4 * new FileInfo(blankPng).Length, "the report's screenshot is hardly bigger than a blank page's");

        var image = PngImage.Read(png);
        var colours = image.Histogram();
        Assert.True(colours.Count > 50, $"the screenshot has {colours.Count} colours");
        Assert.Single(PngImage.Read(blankPng).Histogram());
        // Every stage's colour shows in the legend and the table, and in bars where the stage committed an attempt
        // (stage 2's only one was cancelled: grey); the failed attempt's hatching shows in red.
        var stageColours = LegendKey().Matches(html).Select(m => Convert.ToInt32(m.Groups[2].Value, 16)).ToList();
        Assert.Equal(3, stageColours.Count);
        foreach (var (colour, stage) in stageColours.Select((c, i) => (c, i)))
        {
            var pixels = colours.GetValueOrDefault(colour);
            Assert.True(pixels > (stage < 2 ? 2_000 : 200), $"stage {stage}'s colour #{colour:x6} covers {pixels} pixels");
        }

        Assert.True(colours.GetValueOrDefault(0xc62828) > 20, "no red for the failed attempt");
    }

    [Fact]
    public void Render_50000Attempts_DrawsAtMostTheCapAndSaysSo()
    {
        var report = SampleReports.Large(50_000, rows: 16);

        var html = RunReportHtml.Render(report);

        var bars = Bars(html);
        output.WriteLine($"{bars.Count} bars, {html.Length / 1024} KiB");
        Assert.InRange(bars.Count, 100, RunReportHtml.MaxTimelineBars);
        Assert.True(html.Length < 6 << 20, $"the page has {html.Length} characters");
        Assert.Contains("id=\"timeline-note\">The timeline shows 50,000 of 50,000 attempts as", html, StringComparison.Ordinal);
        // Every attempt is in some bar, and the failed ones keep bars of their own colour.
        Assert.Equal(report.Attempts.Count, bars.Sum(b => b.TryGetValue("data-count", out var n) ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : 1));
        Assert.Equal(report.Attempts.Count(a => a.Outcome == AttemptOutcomes.Failed), bars.Count(b => b["data-outcome"] == "failed"));
        // The stage table is complete; the embedded data holds every failed attempt and no more than the cap.
        Assert.Equal(3, StageRow().Count(html));
        var embedded = RunRecords.DeserializeReport(Encoding.UTF8.GetBytes(ReportData().Match(html).Groups[1].Value));
        Assert.Equal(RunReportHtml.MaxTimelineBars, embedded.Attempts.Count);
        Assert.Equal(report.Attempts.Count(a => a.Outcome == AttemptOutcomes.Failed), embedded.Attempts.Count(a => a.Outcome == AttemptOutcomes.Failed));
        Assert.Equal(report.Summary.Attempts, embedded.Summary.Attempts);
    }

    [Fact]
    public void Render_ReportWithoutAttempts_RendersHeaderAndEmptyTimeline()
    {
        var report = SampleReports.Small() with { Attempts = [], Phases = [new PhaseReport("planning", 0, 3)] };

        var html = RunReportHtml.Render(report);

        Assert.Empty(Bars(html));
        Assert.Contains("id=\"run-error\"", html, StringComparison.Ordinal);
        Assert.Contains("data-bars=\"0\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_CachedTasks_OnTheCacheRowWithTheirLegendFactAndColumn()
    {
        var report = SampleReports.Cached();

        var html = RunReportHtml.Render(report);

        // Each task taken from the cache is a bar of its own on the row named "cache", outcome "cached".
        var cacheRow = $"{report.Rows.ToList().IndexOf("cache")}";
        Assert.Contains($"<g class=\"lane\" data-row=\"{cacheRow}\">", html, StringComparison.Ordinal);
        Assert.Matches($"<g class=\"lane\" data-row=\"{cacheRow}\">.*?>cache</text></g>", html);
        var bars = Bars(html);
        var cached = bars.Where(b => b["data-outcome"] == AttemptOutcomes.Cached).ToList();
        Assert.Equal(["0/0", "0/1", "0/2", "1/0"], cached.Select(b => $"{b["data-stage"]}/{b["data-task"]}").Order(StringComparer.Ordinal));
        Assert.All(cached, b => Assert.Equal(cacheRow, b["data-row"]));
        Assert.All(cached, b => Assert.Equal("2 1", b["stroke-dasharray"]));
        Assert.All(bars.Except(cached), b => Assert.Equal("committed", b["data-outcome"]));
        Assert.All(bars.Except(cached), b => Assert.NotEqual(cacheRow, b["data-row"]));

        // The legend says what such a bar is; the facts and the stage table count them.
        Assert.Contains("<i class=\"swatch-cached\"></i>taken from the task cache (not run)</span>", html, StringComparison.Ordinal);
        Assert.Contains("<div><dt>Cached</dt><dd>4 <small>taken from the task cache (on); 3 entries added, 0 not usable</small></dd></div>", html, StringComparison.Ordinal);
        Assert.Contains("<th>Skipped</th><th>Cached</th><th>Failed</th>", html, StringComparison.Ordinal);
        var rows = StageRow().Matches(html);
        Assert.Equal(3, rows.Count);
        foreach (var (stage, row) in report.Stages.Zip(rows))
        {
            var cells = Cell().Matches(row.Groups[2].Value).Select(c => c.Groups[1].Value).ToList();
            Assert.Equal(new[] { stage.Tasks, stage.Committed, stage.Skipped, stage.Cached, stage.Failed, stage.Attempts }.Select(n => $"{n}"), cells[1..7]);
        }

        // The embedded data keeps them, for the page's script and for tools.
        var embedded = RunRecords.DeserializeReport(Encoding.UTF8.GetBytes(ReportData().Match(html).Groups[1].Value));
        Assert.Equal(4, embedded.Attempts.Count(a => a.Outcome == AttemptOutcomes.Cached));
        Assert.Equal([3, 1, 0], embedded.Stages.Select(s => s.Cached));
    }

    [Fact]
    public void Render_RunWithoutTheCache_ShowsNoCacheRowLegendFactOrColumn()
    {
        var report = SampleReports.Small();

        var html = RunReportHtml.Render(report);

        Assert.DoesNotContain(Bars(html), b => b["data-outcome"] == AttemptOutcomes.Cached);
        Assert.DoesNotContain(">cache</text>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<i class=\"swatch-cached\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("task cache", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<dt>Cached</dt>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<th>Cached</th>", html, StringComparison.Ordinal);
        Assert.Contains("<th>Skipped</th><th>Failed</th>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_CachedTasks_ChromiumKeepsTheirBarsOnTheCacheRow()
    {
        var report = SampleReports.Cached();
        var page = Write("cached.html", RunReportHtml.Render(report));

        var dom = await HeadlessChromium.DumpDomAsync(page);

        var bars = Bars(dom);
        Assert.Equal(report.Attempts.Count, bars.Count);
        foreach (var attempt in report.Attempts)
        {
            var bar = Assert.Single(bars, b => b["data-stage"] == $"{attempt.Stage}" && b["data-task"] == $"{attempt.Task}");
            Assert.Equal((attempt.Outcome, $"{attempt.Row}"), (bar["data-outcome"], bar["data-row"]));
        }

        Assert.Contains("<th>Cached</th>", dom, StringComparison.Ordinal);
        Assert.Contains("<i class=\"swatch-cached\"></i>", dom, StringComparison.Ordinal);
    }

    [Fact]
    public void ScriptSafeJson_ScriptEndInString_HasNoAngleBracket()
    {
        var json = Encoding.UTF8.GetString(RunRecords.Serialize(SampleReports.Small()));

        var safe = ReportText.ScriptSafeJson(json.Replace("\\u003C", "<", StringComparison.Ordinal));

        Assert.DoesNotContain('<', safe);
        Assert.Equal(SampleReports.Small().Summary.Error, RunRecords.DeserializeReport(Encoding.UTF8.GetBytes(safe)).Summary.Error);
    }

    [Theory]
    [InlineData(1_640, 200, 6, "1.2 s")]
    [InlineData(45, 5, 2, "10 ms")]
    [InlineData(95_000, 10_000, 2, "20 s")]
    [InlineData(3_000_000, 300_000, 2, "10 min")]
    [InlineData(30_000_000, 3_600_000, 2, "2 h")]
    public void TickStep_RunLength_RoundStepAndLabels(double totalMs, double step, int tick, string label)
    {
        Assert.Equal(step, ReportText.TickStep(totalMs));
        Assert.Equal("0", ReportText.Tick(0, step));
        Assert.Equal(label, ReportText.Tick(step * tick, step));
    }
}
