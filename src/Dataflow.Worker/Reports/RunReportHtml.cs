using System.Net;
using Dataflow.Runs;

namespace Dataflow.Execution.Reports;

/// <summary>Renders a <see cref="RunReport"/> as a self-contained HTML page.</summary>
public static class RunReportHtml
{
    /// <summary>The page.</summary>
    public static string Render(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return "<!DOCTYPE html><title>" + WebUtility.HtmlEncode(report.Summary.Job) + "</title>";
    }
}
