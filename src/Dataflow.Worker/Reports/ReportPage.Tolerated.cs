namespace Dataflow.Worker;

/// <summary>The report's notice of a partial run: the tasks that failed and were tolerated, and the inputs left out.</summary>
internal sealed partial class ReportPage
{
    /// <summary>Tolerated failures shown one by one at most; the rest are counted.</summary>
    private const int ToleratedShown = 100;

    private void Tolerated()
    {
        var summary = _report.Summary;
        var tolerated = _report.Tolerated ?? [];
        var failedInputs = summary.FailedInputs ?? [];
        if (tolerated.Count == 0 && failedInputs.Count == 0)
        {
            return;
        }

        _html.Append("<section class=\"error\" id=\"partial\"><div class=\"error-title\">")
            .Append(summary.Partial ? "Partial success: " : "Tolerated failures: ")
            .Append(ReportText.Count(failedInputs.Count)).Append(failedInputs.Count == 1 ? " input" : " inputs")
            .Append(" failed and ").Append(failedInputs.Count == 1 ? "is" : "are").Append(" left out of the output (")
            .Append(ReportText.Count(tolerated.Count)).Append(tolerated.Count == 1 ? " task" : " tasks").Append(" tolerated by <code>--max-failed-inputs</code>)</div>\n")
            .Append("<table class=\"tolerated\"><thead><tr><th>Task</th><th>Inputs</th><th>Error</th></tr></thead><tbody>\n");
        foreach (var failure in tolerated.Take(ToleratedShown))
        {
            _html.Append("<tr><td><code>").Append(failure.Stage.ToString(s_inv)).Append('/').Append(failure.Task.ToString(s_inv)).Append("</code> ")
                .AppendEscaped(failure.StageName).Append("</td><td>");
            foreach (var input in failure.Inputs)
            {
                _html.Append("<code class=\"failed-input\">").AppendEscaped(input).Append("</code> ");
            }

            _html.Append("</td><td><pre>").AppendEscaped(failure.Error).Append("</pre></td></tr>\n");
        }

        _html.Append("</tbody></table>\n");
        if (tolerated.Count > ToleratedShown)
        {
            _html.Append("<p>and ").Append(ReportText.Count(tolerated.Count - ToleratedShown)).Append(" more (all in <code>report.json</code>)</p>\n");
        }

        _html.Append("</section>\n");
    }
}
