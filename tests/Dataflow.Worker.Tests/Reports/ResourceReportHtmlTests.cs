namespace Dataflow.Worker.Tests.Reports;

/// <summary>The HTML report's resource figures: the run's facts, the stages' columns, an attempt's bar title.</summary>
public sealed class ResourceReportHtmlTests
{
    private static RunReport WithResources()
    {
        var sample = SampleReports.Small();
        var attemptUse = new ResourceUse
        {
            CpuUserMs = 1_200,
            CpuSystemMs = 300,
            PeakMemoryBytes = 300L << 20,
            Requests = new StoreRequestCounts { List = 1, Get = 9, Put = 2, Part = 4 },
        };
        var stageUse = attemptUse with { CpuUserMs = 4_321, CpuSystemMs = 1_234, PeakMemoryBytes = 456L << 20, Requests = new StoreRequestCounts { List = 2, Head = 3, Get = 37, Put = 5, Part = 11, Copy = 7, Delete = 1 } };
        return sample with
        {
            Summary = sample.Summary with
            {
                Resources = new RunResources
                {
                    Total = new ResourceUse { CpuUserMs = 9_000, CpuSystemMs = 1_000, PeakMemoryBytes = 789L << 20, Requests = new StoreRequestCounts { Get = 100, Put = 23 } },
                    Driver = new ResourceUse { CpuUserMs = 500, CpuSystemMs = 100, PeakMemoryBytes = 90L << 20, Requests = new StoreRequestCounts { Put = 3 } },
                },
            },
            Stages = [sample.Stages[0] with { Resources = stageUse }, .. sample.Stages.Skip(1)],
            Attempts = [sample.Attempts[0] with { Resources = attemptUse }, .. sample.Attempts.Skip(1)],
        };
    }

    [Fact]
    public void Render_ReportWithResources_ShowsTheRunsTotalsTheStagesColumnsAndAnAttemptsFigures()
    {
        var report = WithResources();

        var html = RunReportHtml.Render(report);

        // The run's facts.
        Assert.Contains($"<dt>CPU</dt><dd>{ReportText.Duration(10_000)} <small>user {ReportText.Duration(9_000)}, system {ReportText.Duration(1_000)}</small>", html, StringComparison.Ordinal);
        Assert.Contains($"<dt>Peak memory</dt><dd>{ReportText.Bytes(789L << 20)} <small>driver {ReportText.Bytes(90L << 20)}</small>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Requests</dt><dd>123 <small>list 0, head 0, get 100, put 23, part 0, copy 0, delete 0</small>", html, StringComparison.Ordinal);

        // The first stage's row has its columns; the others, without figures, a dash.
        Assert.Contains("<th>CPU</th><th>Peak memory</th><th>Requests</th>", html, StringComparison.Ordinal);
        var row = StageRow(html, report.Stages[0].Index);
        Assert.Contains($"<td class=\"num\" data-field=\"cpu\" title=\"user {ReportText.Duration(4_321)}, system {ReportText.Duration(1_234)}\">{ReportText.Duration(5_555)}</td>", row, StringComparison.Ordinal);
        Assert.Contains($"<td class=\"num\" data-field=\"peak\">{ReportText.Bytes(456L << 20)}</td>", row, StringComparison.Ordinal);
        Assert.Contains("<td class=\"num\" data-field=\"requests\" title=\"list 2, head 3, get 37, put 5, part 11, copy 7, delete 1\">66</td>", row, StringComparison.Ordinal);
        Assert.Contains("<td class=\"num\" data-field=\"requests\">\u2013</td>", StageRow(html, report.Stages[1].Index), StringComparison.Ordinal);

        // The attempt's bar title.
        Assert.Contains($"CPU {ReportText.Duration(1_500)} (user {ReportText.Duration(1_200)}, system {ReportText.Duration(300)}) \u00b7 peak memory {ReportText.Bytes(300L << 20)} \u00b7 16 requests (list 1, head 0, get 9, put 2, part 4, copy 0, delete 0)", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ReportOfAnEarlierBuild_HasNoResourceColumns()
    {
        var html = RunReportHtml.Render(SampleReports.Small());

        Assert.DoesNotContain("<th>Peak memory</th>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<dt>Requests</dt>", html, StringComparison.Ordinal);
    }

    private static string StageRow(string html, int stage)
    {
        var start = html.IndexOf($"<tr class=\"stage-row\" data-stage=\"{stage}\">", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no row of stage {stage}");
        return html[start..html.IndexOf("</tr>", start, StringComparison.Ordinal)];
    }
}
