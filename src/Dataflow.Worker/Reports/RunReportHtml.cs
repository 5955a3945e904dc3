namespace Dataflow.Worker;

/// <summary>
/// Renders a <see cref="RunReport"/> as one self-contained HTML page (<c>report.html</c>): a header with the run's
/// outcome and totals, its phases, a timeline with one row per worker slot, process or pod and one bar per attempt,
/// and a table of the stages. The page is also the data: the report's JSON is embedded in
/// <c>&lt;script type="application/json" id="report-data"&gt;</c>.
/// </summary>
/// <remarks>
/// <para>
/// The timeline is inline SVG written here rather than drawn by a script, so the page needs no JavaScript, fetches
/// nothing and reads the same from <c>file://</c>, in a browser with scripts off or in a text dump. Every bar is an
/// SVG <c>rect</c> of class <c>task-bar</c> with <c>data-stage</c>, <c>data-task</c>, <c>data-attempt</c>,
/// <c>data-row</c> and <c>data-outcome</c> (<c>committed</c>, <c>failed</c>, <c>cancelled</c>) and a tooltip.
/// </para>
/// <para>
/// Large runs: the timeline draws at most <see cref="MaxTimelineBars"/> bars. Above that, consecutive attempts of a
/// row and stage are merged into one bar (with <c>data-count</c> and <c>data-tasks="first-last"</c> instead of
/// <c>data-task</c> and <c>data-attempt</c>) and the page says so; the embedded JSON then holds at most
/// <see cref="MaxTimelineBars"/> attempts (failed and cancelled ones first) and says how many of how many. The stage
/// table and the totals are always complete.
/// </para>
/// </remarks>
internal static class RunReportHtml
{
    /// <summary>The most bars the timeline draws, and the most attempts the embedded JSON holds.</summary>
    public const int MaxTimelineBars = 10_000;

    /// <summary>The page for <paramref name="report"/>: UTF-8 HTML, to be written as <c>report.html</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="report"/> is <see langword="null"/>.</exception>
    public static string Render(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new ReportPage(report, MaxTimelineBars).Render();
    }
}
