using System.Text.RegularExpressions;

namespace Dataflow.Worker.Tests.Reports;

/// <summary>The HTML report marks backup attempts (speculative attempts of stragglers) and says what the mark means.</summary>
public sealed partial class SpeculationReportTests
{
    [GeneratedRegex("<rect class=\"task-bar\"([^>]*)>")]
    private static partial Regex TaskBar();

    [Fact]
    public void Render_ABackupAttempt_IsADashedOutlinedBarWithItsLegendKey()
    {
        var plain = SampleReports.Small();
        var last = plain.Attempts[^1];
        var report = plain with
        {
            Attempts = [.. plain.Attempts, last with { Attempt = last.Attempt + 1, Speculative = true, StartMs = last.StartMs + 1 }],
        };

        var html = RunReportHtml.Render(report);

        var backups = TaskBar().Matches(html).Select(m => m.Groups[1].Value).Where(b => b.Contains("data-speculative=\"true\"", StringComparison.Ordinal)).ToList();
        var backup = Assert.Single(backups);
        Assert.Contains("stroke-dasharray=\"4 2\"", backup, StringComparison.Ordinal);
        Assert.Contains($"data-attempt=\"{last.Attempt + 1}\"", backup, StringComparison.Ordinal);
        Assert.Contains("<i class=\"swatch-backup\"></i>backup attempt of a straggler (speculative)</span>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("swatch-backup\"></i>", RunReportHtml.Render(plain), StringComparison.Ordinal);
    }
}
