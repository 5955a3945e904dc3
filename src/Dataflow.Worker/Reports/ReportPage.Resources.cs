using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>What the run, its stages and attempts used (<see cref="ResourceUse"/>): facts, stage columns and bar titles.</summary>
internal sealed partial class ReportPage
{
    /// <summary>True when the report has resource figures (reports of earlier builds have none).</summary>
    private bool HasResources => _report.Summary.Resources is not null || _report.Stages.Any(s => s.Resources is not null);

    private void ResourceFacts()
    {
        if (_report.Summary.Resources is not { } resources)
        {
            return;
        }

        var run = resources.Total;
        if (Cpu(run.CpuUserMs, run.CpuSystemMs) is { } cpu)
        {
            Fact("CPU", cpu, CpuNote(run.CpuUserMs, run.CpuSystemMs));
        }

        if (run.PeakMemoryBytes is { } peak)
        {
            Fact("Peak memory", ReportText.Bytes(peak), resources.Driver?.PeakMemoryBytes is { } driver ? $"driver {ReportText.Bytes(driver)}" : null);
        }

        if (run.Requests is { } requests)
        {
            Fact("Requests", ReportText.Count(requests.Total), RequestsNote(requests));
        }
    }

    private static string ResourceHeaders => "<th>CPU</th><th>Peak memory</th><th>Requests</th>";

    private const string ResourceHint =
        " CPU and store requests are the sums of the stage's attempts, failed ones included, peak memory the largest of"
        + " their processes'; a dash where no attempt was measured (the local executor's attempts share the driver's process).";

    private void ResourceCells(StageReport stage)
    {
        var use = stage.Resources;
        TitledCell(Cpu(use?.CpuUserMs, use?.CpuSystemMs) ?? "\u2013", CpuNote(use?.CpuUserMs, use?.CpuSystemMs), "cpu");
        TitledCell(use?.PeakMemoryBytes is { } peak ? ReportText.Bytes(peak) : "\u2013", use?.PeakSinceProcessStart == true ? "peak since the worker process started" : null, "peak");
        TitledCell(use?.Requests is { } requests ? ReportText.Count(requests.Total) : "\u2013", use?.Requests is { } r ? RequestsNote(r) : null, "requests");
    }

    private void TitledCell(string text, string? title, string field)
    {
        _html.Append("<td class=\"num\" data-field=\"").Append(field).Append('"');
        if (title is not null)
        {
            _html.Append(" title=\"").AppendEscaped(title).Append('"');
        }

        _html.Append('>').AppendEscaped(text).Append("</td>");
    }

    /// <summary>An attempt's figures for its bar's title: a line of its own.</summary>
    private void ResourceTitle(AttemptReport attempt)
    {
        if (attempt.Resources is not { } use)
        {
            return;
        }

        _html.Append('\n');
        if (Cpu(use.CpuUserMs, use.CpuSystemMs) is { } cpu)
        {
            _html.Append("CPU ").Append(cpu).Append(" (").AppendEscaped(CpuNote(use.CpuUserMs, use.CpuSystemMs)).Append(") \u00b7 ");
        }

        if (use.PeakMemoryBytes is { } peak)
        {
            _html.Append("peak memory ").Append(ReportText.Bytes(peak)).Append(" \u00b7 ");
        }

        if (use.Requests is { } requests)
        {
            _html.Append(ReportText.Count(requests.Total)).Append(" requests (").AppendEscaped(RequestsNote(requests)).Append(')');
        }
    }

    private static string? Cpu(long? userMs, long? systemMs) =>
        userMs is null && systemMs is null ? null : ReportText.Duration((userMs ?? 0) + (systemMs ?? 0));

    private static string? CpuNote(long? userMs, long? systemMs) =>
        userMs is null && systemMs is null ? null : $"user {ReportText.Duration(userMs ?? 0)}, system {ReportText.Duration(systemMs ?? 0)}";

    private static string RequestsNote(StoreRequestCounts r) =>
        $"list {ReportText.Count(r.List)}, head {ReportText.Count(r.Head)}, get {ReportText.Count(r.Get)}, put {ReportText.Count(r.Put)}, part {ReportText.Count(r.Part)}, copy {ReportText.Count(r.Copy)}, delete {ReportText.Count(r.Delete)}";
}
